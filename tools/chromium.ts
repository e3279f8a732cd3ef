/**
 * A headless Chromium driven over the DevTools protocol with Deno's built-in WebSocket: no
 * npm package, no browser download. Used by the map's browser test and by the README
 * screenshot task. Chromium is started with `--remote-debugging-port=0`; the port it chose is
 * read from the `DevTools listening on ws://...` line on its stderr.
 *
 * @module
 */

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** The flags every run uses (a fresh profile directory is added). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--remote-debugging-port=0",
];

/** Whether the browser is installed. */
export function chromiumAvailable(path = CHROMIUM): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** A console error, an uncaught exception or a failed load seen by the page. */
export interface PageProblem {
  /** `console`, `exception` or `log`. */
  source: string;
  /** The message. */
  text: string;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

/** One page of a running browser, attached with a flat session. */
export class Page {
  /** Problems seen so far. */
  readonly problems: PageProblem[] = [];
  #browser: Browser;
  #session: string;

  constructor(browser: Browser, session: string) {
    this.#browser = browser;
    this.#session = session;
  }

  /** Sends a command to the page. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#browser.send(method, params, this.#session);
  }

  /** Loads `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.#browser.once("Page.loadEventFired", this.#session);
    const r = await this.send("Page.navigate", { url });
    if (r.errorText) throw new Error(`cannot load ${url}: ${r.errorText}`);
    await loaded;
  }

  /** Evaluates `expression` in the page and returns its value (JSON-serializable). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const ex = r.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (ex) throw new Error(`page threw: ${ex.exception?.description ?? ex.text}`);
    return (r.result as { value: T }).value;
  }

  /** A PNG of the whole page (beyond the viewport). */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }

  /** @internal called by the browser for this session's events. */
  event(method: string, params: Record<string, unknown>): void {
    if (
      method === "Runtime.consoleAPICalled" && (params.type === "error" || params.type === "assert")
    ) {
      const args = params.args as { value?: unknown; description?: string }[];
      this.problems.push({
        source: "console",
        text: args.map((a) => a.description ?? String(a.value)).join(" "),
      });
    } else if (method === "Runtime.exceptionThrown") {
      const d = params.exceptionDetails as { text: string; exception?: { description?: string } };
      this.problems.push({ source: "exception", text: d.exception?.description ?? d.text });
    } else if (method === "Log.entryAdded") {
      const e = params.entry as { level: string; text: string; url?: string };
      if (e.level === "error") {
        this.problems.push({ source: "log", text: `${e.text} ${e.url ?? ""}` });
      }
    }
  }
}

/** A running headless Chromium. Close it with {@link Browser.close}. */
export class Browser {
  #child: Deno.ChildProcess;
  #ws: WebSocket;
  #profile: string;
  #next = 1;
  #pending = new Map<number, Pending>();
  #pages = new Map<string, Page>();
  #waiters: { method: string; session: string; resolve: () => void }[] = [];
  #closed: Promise<void>;

  private constructor(child: Deno.ChildProcess, ws: WebSocket, profile: string) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (ev) => this.#receive(JSON.parse(ev.data as string)));
  }

  /** Starts the browser with a fresh profile directory and connects to it. */
  static async launch(path = CHROMIUM, timeoutMs = 20_000): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "p2mtrace-chromium-" });
    const child = new Deno.Command(path, {
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "about:blank"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    let url: string | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    while (url === undefined) {
      const r = await reader.read();
      if (r.done) break;
      seen += r.value;
      url = /DevTools listening on (ws:\/\/\S+)/.exec(seen)?.[1];
    }
    clearTimeout(timer);
    // Keep draining stderr so the browser never blocks on a full pipe.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch { /* closed */ }
    })();
    if (url === undefined) {
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(`chromium did not print its DevTools address; stderr:\n${seen.slice(-2000)}`);
    }
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
    return new Browser(child, ws, profile);
  }

  /** Sends a command (to the browser, or to a page's session). */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const msg: Record<string, unknown> = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify(msg));
    });
  }

  /** Resolves at the next `method` event of `session`. */
  once(method: string, session: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ method, session, resolve }));
  }

  /** Opens a page of `width` x `height` CSS pixels with console and log capture on. */
  async newPage(width = 1320, height = 900): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId as string);
    this.#pages.set(sessionId as string, page);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Log.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** Closes the browser, waits for it to exit and removes its profile. */
  async close(): Promise<void> {
    try {
      await this.send("Browser.close");
    } catch { /* already gone */ }
    const killer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5000);
    await this.#child.status;
    clearTimeout(killer);
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close();
    await this.#closed;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  #receive(msg: Record<string, unknown>): void {
    if (typeof msg.id === "number") {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      const err = msg.error as { message: string } | undefined;
      if (err) p.reject(new Error(`DevTools: ${err.message}`));
      else p.resolve((msg.result ?? {}) as Record<string, unknown>);
      return;
    }
    const method = msg.method as string;
    const session = msg.sessionId as string | undefined;
    if (!session) return;
    this.#pages.get(session)?.event(method, (msg.params ?? {}) as Record<string, unknown>);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.method !== method || w.session !== session) return true;
      w.resolve();
      return false;
    });
  }
}
