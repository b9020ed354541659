/**
 * The schema of a secret configuration value (SPEC §2, §7): a token or password, checked for the
 * mistakes people make when pasting one, and never quoted in a problem line. A key is a secret
 * exactly when its schema is built here: its add-on schema type is then `password`, and the key
 * must be in `SECRET_KEYS` (src/redact.ts), which test/config.test.ts checks. Pure: zod only.
 */
import { z } from 'zod';
import type { SecretKey } from '../redact.js';
import { refine } from './builders.js';
import { withManifest } from './manifest.js';
import { coerceText, count, envName, MQTT_MAX_BYTES, utf8Bytes } from './values.js';

const PLACEHOLDERS: readonly RegExp[] = [
  /^your[\s_-]?(?:[a-z0-9]+[\s_-]?)*(?:token|key)$/i,
  /^change[\s_-]?me$/i,
  /^replace[\s_-]?me$/i,
  /^token$/i,
  /^placeholder$/i,
  /^x+$/i,
  /^<.*>$/s,
  /^(?:\.\.\.|…)$/,
];

/** True for values that are obviously not a real token (`your_token`, `changeme`, `xxxx`, `<token>`). */
export function isPlaceholderSecret(value: string): boolean {
  const v = value.trim();
  return PLACEHOLDERS.some((re) => re.test(v));
}

type TokenKey = 'cloudflare_api_token' | 'ha_token' | 'http_token';

const TOKEN_FIX: Record<TokenKey, string> = {
  cloudflare_api_token:
    'paste an API token created at dash.cloudflare.com → My Profile → API Tokens (Zone·DNS·Edit), or remove the key to run in dry-run',
  ha_token: 'paste a long-lived access token created in Home Assistant (your profile → Security)',
  http_token: 'choose a long random value (e.g. the output of openssl rand -hex 24), or remove the key',
};

function isTokenKey(key: SecretKey): key is TokenKey {
  return key in TOKEN_FIX;
}

/**
 * What is wrong with a secret, never quoting it. Tokens are checked for placeholders and pasting
 * mistakes; passwords only for emptiness, unexpanded variables and MQTT's length limit.
 */
function secretProblem(key: SecretKey, value: string): string | undefined {
  if (value === '') return `is empty — set it, or remove the key`;
  if (/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(value)) {
    return `looks like an unexpanded variable — files are not expanded: paste the value, or set ${envName(key)} or ${envName(key)}_FILE in the environment`;
  }
  if (key === 'mqtt_password' && utf8Bytes(value) > MQTT_MAX_BYTES) {
    return `is longer than MQTT allows (${count(MQTT_MAX_BYTES)} bytes) — check that it is the password alone`;
  }
  if (!isTokenKey(key)) return undefined;
  if (isPlaceholderSecret(value)) return `looks like a placeholder, not a real token — ${TOKEN_FIX[key]}`;
  if (/^bearer\s/i.test(value)) return `starts with 'Bearer ' — give the token alone, without 'Bearer '`;
  if (/\s/.test(value)) return `contains spaces or line breaks — give the token alone, on one line`;
  if (key === 'cloudflare_api_token' && /^[0-9a-f]{37}$/.test(value)) {
    return 'looks like a Global API Key, which is not supported — create an API token with Zone·DNS·Edit permission instead';
  }
  return undefined;
}

/** The schema of the secret `key`; its add-on schema type is `password`. */
export function secret(key: SecretKey) {
  return withManifest(
    z.preprocess(
      coerceText,
      z
        .string({ error: () => `is not text — put the value in quotes` })
        .superRefine(refine((s) => secretProblem(key, s))),
    ),
    'password',
  );
}
