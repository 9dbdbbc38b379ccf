/**
 * The client's sequence rule, as a pure state machine (no I/O): the same rule as the
 * Python SDK's `leaderboard_client.tracking` and docs/protocol.md.
 *
 * Every `snapshot` and `update` frame of a view carries `seq`; updates also carry
 * `prev_seq`, the seq of the previous frame the server sent for that view.
 *
 * 1. A snapshot replaces the state; remember its seq (a snapshot older than the state is
 *    dropped).
 * 2. An update with `seq <= last seq` is old news (a re-send after a broadcaster restart,
 *    or a frame that raced a resync): drop it.
 * 3. An update with `prev_seq == last seq` applies: replace the state, remember seq.
 * 4. Any other update means a frame was missed (a gap): the state is unknown, so resync
 *    (resubscribe: the reply is a fresh snapshot), then keep applying 1-4.
 * 5. After a reconnect, resubscribe every view and apply 1-4 from the new snapshots.
 *
 * Frames carry the full view state, so applying one never needs the frames before it.
 */

import type { SnapshotFrame, UpdateFrame, ViewEntry } from "./generated/protocol.js";

export const APPLIED = "applied";
export const STALE = "stale";
export const GAP = "gap";
export type Outcome = typeof APPLIED | typeof STALE | typeof GAP;

export type ViewKind = "top" | "around" | "me";

/** One row of a view: a player, their score and exact rank (1 is first), the rank to show
 * by the board's tie mode (`display_rank`), the percentile of the exact rank and the tier
 * (absent when none applies). */
export type Entry = ViewEntry;

/** What a view shows now. */
export interface ViewState {
  viewId: string;
  board: string;
  season: string;
  view: ViewKind | "";
  /** The board sequence number the state reflects. */
  seq: number;
  /** Entries in the season. */
  total: number;
  /** The rows (`top`, `around`). */
  entries: Entry[];
  /** The player's own row (`me`, `around`); null before their first score. */
  me: Entry | null;
  /** True on the state a resync or reconnect produced: states before it may be skipped. */
  resynced: boolean;
  /** When the season ends (ISO 8601, UTC), from the last snapshot; null if it never resets. */
  nextResetAt: string | null;
}

/** A frame the tracker applies (a snapshot or an update, or a REST page made into one). */
export type ViewFrame =
  | (Pick<SnapshotFrame, "type" | "seq" | "total"> & Partial<SnapshotFrame>)
  | (Pick<UpdateFrame, "type" | "seq" | "prev_seq" | "total"> & Partial<UpdateFrame>);

/** A view entry as the tracker keeps it (the fields it knows, never more). */
export function entryOf(e: ViewEntry): Entry {
  const entry: Entry = {
    player: e.player,
    score: e.score,
    rank: e.rank,
    display_rank: e.display_rank ?? e.rank,
    percentile: e.percentile ?? 0,
  };
  if (e.tier != null) entry.tier = e.tier;
  return entry;
}

function entriesOf(raw: readonly ViewEntry[] | undefined | null): Entry[] {
  return (raw ?? []).map(entryOf);
}

/** Applies a view's frames by the sequence rule. */
export class ViewTracker {
  state: ViewState | null = null;
  needsResync = false;

  constructor(readonly viewId = "") {}

  /** The seq of the state, -1 before any. */
  get seq(): number {
    return this.state === null ? -1 : this.state.seq;
  }

  /** Rule 5: the connection dropped; the next snapshot is a resync. */
  lostConnection(): void {
    this.needsResync = true;
  }

  /** Apply one snapshot or update frame. */
  apply(frame: ViewFrame): Outcome {
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
    const me = frame.me ? entryOf(frame.me) : null;
    const nextResetAt =
      frame.type === "snapshot" ? (frame.next_reset_at ?? null) : (this.state?.nextResetAt ?? null);
    this.state = {
      viewId: frame.view_id || this.viewId,
      board: frame.board ?? "",
      season: frame.season ?? "",
      view: frame.view ?? "",
      seq,
      total: Number(frame.total ?? 0),
      entries: entriesOf(frame.entries),
      me,
      resynced: frame.type === "snapshot" && this.needsResync,
      nextResetAt,
    };
    if (frame.type === "snapshot") this.needsResync = false;
    return APPLIED;
  }
}
