/** The fake Cloudflare API + DoH server (server.ts) and the types tests use with it. */
export type { FakePermissions } from './api.js';
export { DEFAULT_EDGE_V4, DEFAULT_EDGE_V6 } from './doh.js';
export type { FakeFault } from './faults.js';
export {
  DEFAULT_FAKE_TOKEN,
  FakeCloudflare,
  type FakeCloudflareOptions,
  type LoggedRequest,
} from './server.js';
export type { FakeRecord, FakeRecordType, FakeZone } from './store.js';
