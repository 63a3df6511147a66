import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from './http-fetch.js';

// Against real HTTP servers on loopback: what Octokit reads must be what fetch would give it.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let other: Server;
let base: string;
let otherBase: string;
const seen: Seen[] = [];

function listen(s: Server): Promise<string> {
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    ),
  );
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    if (req.url === '/json') {
      res.writeHead(201, { 'content-type': 'application/json', 'x-ratelimit-remaining': '42' });
      res.end(JSON.stringify({ got: body, method: req.method }));
    } else if (req.url === '/temp') {
      res.writeHead(307, { location: '/json' }).end();
    } else if (req.url === '/see-other') {
      res.writeHead(303, { location: '/json' }).end();
    } else if (req.url === '/away') {
      res.writeHead(302, { location: `${otherBase}/there` }).end();
    } else if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    }
  });
  other = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: '' });
    res.end('there');
  });
  [base, otherBase] = await Promise.all([listen(server), listen(other)]);
});

afterAll(() => {
  server.close();
  other.close();
});

describe('httpFetch', () => {
  it('sends method, headers and body; gives status, url, headers and the body', async () => {
    const res = await httpFetch(`${base}/json`, {
      method: 'POST',
      headers: { authorization: 'token t', 'content-type': 'application/json' },
      body: '{"q":"ü"}',
    });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${base}/json`);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('42');
    expect(Object.fromEntries(res.headers)).toMatchObject({ 'content-type': 'application/json' });
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(await res.json()).toEqual({ got: '{"q":"ü"}', method: 'POST' });
    const last = seen.at(-1)!;
    expect(last.headers).toMatchObject({ authorization: 'token t', 'content-length': '10' });
  });

  it('answers errors as responses, as fetch does', async () => {
    const res = await httpFetch(`${base}/nothing`);
    expect(res.status).toBe(404);
    expect(res.ok).toBe(false);
    expect(await res.text()).toBe('not here');
    expect(new TextDecoder().decode(await res.arrayBuffer())).toBe('not here');
  });

  it('follows 307 with method and body, and 303 as a GET', async () => {
    const kept = await httpFetch(`${base}/temp`, { method: 'PATCH', body: 'x=1' });
    expect(await kept.json()).toEqual({ got: 'x=1', method: 'PATCH' });
    expect(kept.url).toBe(`${base}/json`);
    const get = await httpFetch(`${base}/see-other`, { method: 'POST', body: 'x=1' });
    expect(await get.json()).toEqual({ got: '', method: 'GET' });
  });

  it('does not send the token to another origin on a redirect', async () => {
    const res = await httpFetch(`${base}/away`, { headers: { authorization: 'token secret' } });
    expect(await res.text()).toBe('there');
    const last = seen.at(-1)!;
    expect(last.url).toBe('/there');
    expect(last.headers.authorization).toBeUndefined();
  });

  it('stops a redirect loop, and honours redirect: manual', async () => {
    await expect(httpFetch(`${base}/loop`)).rejects.toThrow(/redirect/);
    const res = await httpFetch(`${base}/temp`, { redirect: 'manual' });
    expect(res.status).toBe(307);
  });

  it('fails on a refused connection and on an aborted request', async () => {
    await expect(httpFetch('http://127.0.0.1:1/')).rejects.toThrow(/ECONNREFUSED/);
    await expect(httpFetch(`${base}/json`, { signal: AbortSignal.abort() })).rejects.toThrow(
      /abort/i,
    );
  });
});

describe('httpFetch start-up', () => {
  it("does not load Node's fetch (undici) to make a request", async () => {
    // A fresh Node 24 process runs the module (type stripping) and lists what it loaded: touching
    // fetch or Headers there would add Node's internal undici modules to the list.
    const { execFileSync } = await import('node:child_process');
    const script = `
      const { createServer } = require('node:http');
      const s = createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', async () => {
        const { httpFetch } = await import(${JSON.stringify(new URL('./http-fetch.ts', import.meta.url).pathname)});
        const res = await httpFetch('http://127.0.0.1:' + s.address().port + '/');
        await res.text();
        const loaded = process.moduleLoadList.filter((m) => m.includes('undici'));
        console.log(JSON.stringify({ status: res.status, undici: loaded }));
        s.close();
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(out).toEqual({ status: 200, undici: [] });
  });
});
