// The client's sequence rule, as a pure state machine: the same rule as client/tracking.py
// (the Python SDK), kept in step by tests/web/test_tracker_parity.py.
//
// 1. A snapshot replaces the state; remember its seq (an older snapshot is dropped).
// 2. An update with seq <= last seq is old news: drop it.
// 3. An update with prev_seq == last seq applies: replace the state, remember seq.
// 4. Any other update means a frame was missed (a gap): resubscribe for a fresh snapshot.
// 5. After a reconnect, resubscribe every view and apply 1-4 from the new snapshots.
//
// Frames carry the full view state, so applying one never needs the frames before it.

export const APPLIED = "applied";
export const STALE = "stale";
export const GAP = "gap";

function entriesOf(raw) {
  return (raw || []).map((e) => ({ player: e.player, score: e.score, rank: e.rank }));
}

export class ViewTracker {
  constructor() {
    this.state = null;
    this.needsResync = false;
  }

  get seq() {
    return this.state === null ? -1 : this.state.seq;
  }

  /** Rule 5: the connection dropped; the next snapshot is a resync. */
  lostConnection() {
    this.needsResync = true;
  }

  /** Apply one snapshot or update frame; returns APPLIED, STALE or GAP. */
  apply(frame) {
    const seq = Number(frame.seq);
    if (frame.type === "update") {
      if (this.state !== null && seq <= this.state.seq) return STALE;
      if (this.state === null || Number(frame.prev_seq) !== this.state.seq) {
        this.needsResync = true;
        return GAP;
      }
    } else if (this.state !== null && seq < this.state.seq) {
      return STALE;
    }
    const me = frame.me ? { player: frame.me.player, score: frame.me.score, rank: frame.me.rank } : null;
    this.state = {
      viewId: frame.view_id || "",
      board: frame.board || "",
      season: frame.season || "",
      seq,
      total: Number(frame.total || 0),
      entries: entriesOf(frame.entries),
      me,
      resynced: frame.type === "snapshot" && this.needsResync,
    };
    if (frame.type === "snapshot") this.needsResync = false;
    return APPLIED;
  }
}
