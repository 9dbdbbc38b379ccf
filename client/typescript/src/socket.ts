/**
 * Which WebSocket the client uses, and how a dial's failure becomes an error.
 *
 * - A browser, Deno, Bun, or Node 22 and later have a global `WebSocket`: used as is,
 *   so the package has no runtime dependency there.
 * - Node 20 has none (unless started with `--experimental-websocket`): the client loads
 *   the `ws` package with a dynamic import (an optional peer dependency: `npm i ws`).
 * - `options.WebSocket` overrides both (e.g. `ws` on Node 22, for the handshake status).
 *
 * A refused upgrade (401 bad token, 403 denied) is typed when the implementation says
 * the status: `ws` does ("Unexpected server response: 401"); the WHATWG WebSocket of
 * browsers and Node 22 hides it on purpose, so there a refused upgrade is a
 * `ConnectionLost` like any failed dial.
 */

import { ConnectionLost, type ServerError } from "./errors.js";
import { errorFromHandshake } from "./wire-errors.js";

/** What the client needs of a WebSocket (the WHATWG interface; `ws` has it too). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => SocketLike;

export const OPEN = 1;

let loaded: Promise<WebSocketConstructor> | null = null;

/** The WebSocket implementation to use (see the module comment). */
export function webSocketClass(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given !== undefined) return Promise.resolve(given);
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === "function") return Promise.resolve(global);
  loaded ??= (async () => {
    const name = "ws"; // not bundled: only Node without a global WebSocket loads it
    try {
      const mod = (await import(name)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
      const cls = mod.WebSocket ?? mod.default;
      if (typeof cls !== "function") throw new Error("the ws module has no WebSocket class");
      return cls;
    } catch (error) {
      loaded = null;
      throw new Error(
        "this runtime has no global WebSocket: install the `ws` package (npm i ws), or run " +
          `Node 22+ or Node 20 with --experimental-websocket (${String(error)})`,
      );
    }
  })();
  return loaded;
}

/** The text of a message event's data (a string, or bytes from `ws`). */
export function textOf(data: unknown): string | null {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return null;
}

/** The error a failed dial stands for: the refused upgrade's, when the status is known. */
export function dialError(event: unknown, closeCode?: number): ServerError | ConnectionLost {
  const message = String((event as { message?: unknown } | null)?.message ?? "");
  const status = /Unexpected server response: (\d{3})/.exec(message);
  if (status) return errorFromHandshake(Number(status[1]));
  return new ConnectionLost(
    `could not connect${message ? `: ${message}` : ""}${closeCode ? ` (close ${closeCode})` : ""}`,
  );
}

/** Open a socket: resolves once open, rejects with the dial's error or after `timeoutMs`. */
export function openSocket(cls: WebSocketConstructor, url: string, timeoutMs: number): Promise<SocketLike> {
  return new Promise((resolve, reject) => {
    let socket: SocketLike;
    try {
      socket = new cls(url);
    } catch (error) {
      reject(new ConnectionLost(`could not connect: ${String(error)}`));
      return;
    }
    const timer = setTimeout(() => {
      settle(new ConnectionLost(`could not connect within ${timeoutMs} ms`));
      try {
        socket.close();
      } catch {
        /* already closed */
      }
    }, timeoutMs);
    const settle = (result: SocketLike | Error) => {
      clearTimeout(timer);
      socket.onopen = socket.onerror = socket.onclose = null;
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.onopen = () => settle(socket);
    // A failed dial reports an error (and a close, which some implementations send only
    // much later): either settles it.
    socket.onerror = (event) => {
      settle(dialError(event));
      try {
        socket.close();
      } catch {
        /* not open */
      }
    };
    socket.onclose = (event) => settle(dialError(null, event.code));
  });
}
