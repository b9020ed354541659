/**
 * A fake Cloudflare API v4 and DoH JSON resolver on 127.0.0.1 (port 0), for tests, the benchmark
 * and anything else that must never reach the real network. It lives in test/fakes/cloudflare/
 * (server, store, batch, API face, DoH face, faults); this file keeps the import path tests use.
 */
export * from './cloudflare/index.js';
