// A client for git's smart HTTP protocol version 2 (upload-pack side only), so one release reads
// its files in three requests — the capability advertisement, one `ls-refs`, one `fetch` of the
// commits and trees, one `fetch` of the target blobs — where separate `git ls-remote` and `git
// fetch` processes each start with their own advertisement. The push stays `git push`.
// Protocol: https://git-scm.com/docs/protocol-v2 and https://git-scm.com/docs/http-protocol
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';

/** The server answered a request with an HTTP error status. */
export class SmartHttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly what: string,
    readonly body: string,
  ) {
    super(`${what}: HTTP ${status}${body ? `: ${body.trim().slice(0, 300)}` : ''}`);
    this.name = 'SmartHttpStatusError';
  }
}

/** The server broke the protocol or sent ERR: the caller may fall back to the git command line. */
export class SmartHttpProtocolError extends Error {
  override name = 'SmartHttpProtocolError';
}

export interface FetchedPack {
  /** The pack file's bytes (side band 1, demultiplexed). */
  pack: Buffer;
  /** Commits the server made shallow (`shallow-info`), to record in `$GIT_DIR/shallow`. */
  shallow: string[];
}

function pkt(line: string): string {
  return `${(Buffer.byteLength(line) + 4).toString(16).padStart(4, '0')}${line}`;
}

const FLUSH = '0000';
const DELIM = '0001';

/** pkt-lines of a buffer: a string for data lines, or 'flush' | 'delim' | 'end' for the specials. */
function* pktLines(buf: Buffer): Generator<Buffer | 'flush' | 'delim' | 'end'> {
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = Number.parseInt(buf.subarray(at, at + 4).toString('latin1'), 16);
    if (!Number.isFinite(len)) throw new SmartHttpProtocolError('not a pkt-line response');
    if (len < 4) {
      yield len === 0 ? 'flush' : len === 1 ? 'delim' : 'end';
      at += 4;
      continue;
    }
    if (at + len > buf.length) throw new SmartHttpProtocolError('truncated pkt-line response');
    yield buf.subarray(at + 4, at + len);
    at += len;
  }
}

const text = (line: Buffer) => line.toString('utf8').replace(/\n$/, '');

interface HttpAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * One request over node:http(s), on a keep-alive agent so the release's requests share one
 * connection; redirects followed (a renamed repository), the credentials only to the same origin.
 * Not Node's fetch: its first call loads undici, about 60 ms of CPU for a four-request read.
 */
async function httpRequest(
  agents: Map<string, HttpAgent>,
  start: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<HttpAnswer> {
  let url = start;
  const headers = { ...init.headers };
  for (let hop = 0; hop < 5; hop++) {
    const http = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    let agent = agents.get(url.protocol);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true });
      agents.set(url.protocol, agent);
    }
    const send = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = http.request(url, { method: init.method, headers, agent }, resolve);
        req.on('error', reject);
        req.end(init.body);
      });
    // A kept-alive connection the server closed while idle (between retries) fails at once; every
    // upload-pack request is a read, so it is sent again once on a new connection.
    const res = await send().catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return send();
      throw err;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      if (init.method !== 'GET' && status !== 307 && status !== 308) break;
      const next = new URL(location, url);
      if (next.origin !== url.origin) delete headers.Authorization;
      url = next;
      continue;
    }
    return { status, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks) };
  }
  throw new SmartHttpProtocolError(
    `too many redirects, or a redirect of a POST, from ${start.origin}`,
  );
}

export class UploadPackV2 {
  private constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    /** Capability lines every command request repeats (object-format, agent). */
    private readonly commandCapabilities: string[],
    /** The `fetch=` features (shallow, filter, …). */
    readonly fetchFeatures: Set<string>,
    private readonly agents: Map<string, HttpAgent>,
  ) {}

  /** Closes the kept-alive connections. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
  }

  /**
   * Reads the capability advertisement. Undefined when the server does not speak version 2 with
   * shallow and filtered fetches (the caller uses the git command line instead).
   */
  static async connect(
    url: string,
    headers: Record<string, string>,
  ): Promise<UploadPackV2 | undefined> {
    const agents = new Map<string, HttpAgent>();
    const res = await httpRequest(agents, new URL(`${url}/info/refs?service=git-upload-pack`), {
      method: 'GET',
      headers: { ...headers, 'Git-Protocol': 'version=2' },
    });
    const body = res.body;
    if (res.status < 200 || res.status > 299) {
      throw new SmartHttpStatusError(res.status, 'GET info/refs', body.toString());
    }
    if (res.contentType !== 'application/x-git-upload-pack-advertisement') {
      for (const agent of agents.values()) agent.destroy();
      return undefined; // a dumb HTTP server
    }
    const lines: string[] = [];
    for (const line of pktLines(body)) if (typeof line !== 'string') lines.push(text(line));
    // Servers may still send the version 0 `# service=` banner first (GitHub does).
    const caps = lines.filter((l) => !l.startsWith('# service='));
    if (caps[0] !== 'version 2') return undefined;
    const fetchLine = caps.find((c) => c === 'fetch' || c.startsWith('fetch='));
    const features = new Set((fetchLine?.split('=')[1] ?? '').split(' ').filter(Boolean));
    if (!fetchLine || !features.has('shallow') || !features.has('filter')) return undefined;
    if (!caps.includes('ls-refs') && !caps.some((c) => c.startsWith('ls-refs='))) return undefined;
    const format = caps.find((c) => c.startsWith('object-format='));
    // Our temporary repository is SHA-1; a SHA-256 remote goes through the command line.
    if (format && format !== 'object-format=sha1') {
      for (const agent of agents.values()) agent.destroy();
      return undefined;
    }
    const commandCapabilities: string[] = [];
    if (format) commandCapabilities.push(format);
    if (caps.some((c) => c.startsWith('agent='))) commandCapabilities.push('agent=gitops-release');
    return new UploadPackV2(url, headers, commandCapabilities, features, agents);
  }

  private async command(command: string, args: string[]): Promise<Buffer> {
    const body =
      [`command=${command}\n`, ...this.commandCapabilities.map((c) => `${c}\n`)].map(pkt).join('') +
      DELIM +
      args.map((a) => pkt(`${a}\n`)).join('') +
      FLUSH;
    const res = await httpRequest(this.agents, new URL(`${this.url}/git-upload-pack`), {
      method: 'POST',
      headers: {
        ...this.headers,
        'Git-Protocol': 'version=2',
        'Content-Type': 'application/x-git-upload-pack-request',
        'Content-Length': String(Buffer.byteLength(body)),
        Accept: 'application/x-git-upload-pack-result',
      },
      body,
    });
    const out = res.body;
    if (res.status < 200 || res.status > 299) {
      throw new SmartHttpStatusError(res.status, `POST ${command}`, out.toString());
    }
    return out;
  }

  /** Refs under the prefixes: name → object id; symbolic refs (HEAD) → their target too. */
  async lsRefs(
    prefixes: string[],
  ): Promise<{ refs: Map<string, string>; symrefs: Map<string, string> }> {
    const out = await this.command('ls-refs', [
      'symrefs',
      ...prefixes.map((p) => `ref-prefix ${p}`),
    ]);
    const refs = new Map<string, string>();
    const symrefs = new Map<string, string>();
    for (const line of pktLines(out)) {
      if (typeof line === 'string') continue;
      const t = text(line);
      if (t.startsWith('ERR ')) throw new SmartHttpProtocolError(t.slice(4));
      const [oid, name, ...attrs] = t.split(' ');
      if (!oid || !name || !/^[0-9a-f]{40}$/.test(oid)) continue; // "unborn HEAD …" and the like
      refs.set(name, oid);
      const target = attrs.find((a) => a.startsWith('symref-target:'));
      if (target) symrefs.set(name, target.slice('symref-target:'.length));
    }
    return { refs, symrefs };
  }

  /** One `fetch` with `done` (no negotiation): the pack of what `args` ask for. */
  async fetchPack(args: string[]): Promise<FetchedPack> {
    const out = await this.command('fetch', ['no-progress', 'ofs-delta', ...args, 'done']);
    const shallow: string[] = [];
    const chunks: Buffer[] = [];
    let section = '';
    for (const line of pktLines(out)) {
      if (typeof line === 'string') {
        if (line === 'delim') section = '';
        continue;
      }
      if (section === 'packfile') {
        // Side band: 1 = pack data, 2 = progress, 3 = a fatal error message.
        if (line[0] === 1) chunks.push(line.subarray(1));
        else if (line[0] === 3) throw new SmartHttpProtocolError(text(line.subarray(1)));
        continue;
      }
      const t = text(line);
      if (t.startsWith('ERR ')) throw new SmartHttpProtocolError(t.slice(4));
      if (!section) section = t;
      else if (section === 'shallow-info' && t.startsWith('shallow ')) shallow.push(t.slice(8));
    }
    if (section !== 'packfile') throw new SmartHttpProtocolError('the fetch response has no pack');
    return { pack: Buffer.concat(chunks), shallow };
  }
}
