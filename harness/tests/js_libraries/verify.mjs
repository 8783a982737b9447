#!/usr/bin/env node
// Judges `hookstorm events gen --signed` records with a sender's own
// JavaScript library, as harness/tests/py_libraries/verify.py does with
// the Python ones (same protocol): prints `ready` once the library is
// loaded, then reads JSONL records {"headers": {...}, "body": "..."} on
// stdin and writes one line per record, {"verdict": "accepted"} or
// {"verdict": "rejected", "error": "..."}.
//
// Usage: HOOKSTORM_NPM=DIR node --experimental-import-meta-resolve verify.mjs LIBRARY
// (the secret comes from $HOOK_SECRET; DIR holds node_modules).
// LIBRARY:
//   octokit      GitHub: @octokit/webhooks-methods `verify(secret, body,
//                X-Hub-Signature-256)`, the check Octokit's webhooks run.
//   shopify-api  Shopify: @shopify/shopify-api `webhooks.validate()`, the
//                check Shopify's app libraries run (HMAC, then the headers
//                every webhook carries).
// The libraries are installed from package.json / package-lock.json next
// to this file into $HOOKSTORM_NPM/node_modules (.ci/run does it).

import readline from "node:readline";
import { pathToFileURL } from "node:url";

const prefix = process.env.HOOKSTORM_NPM;
// Resolved from the prefix, as a module there would import it (Node 20
// takes the parent only with --experimental-import-meta-resolve).
const load = (name) => import(import.meta.resolve(name, pathToFileURL(`${prefix}/`).href));

function lower(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

async function octokit(secret) {
  const { verify } = await load("@octokit/webhooks-methods");
  return async (body, headers) => {
    const signature = lower(headers)["x-hub-signature-256"];
    if (!(await verify(secret, body, signature))) {
      throw new Error("signature does not match");
    }
  };
}

async function shopifyApi(secret) {
  await load("@shopify/shopify-api/adapters/node");
  const { shopifyApi, ApiVersion, LogSeverity } = await load("@shopify/shopify-api");
  const shopify = shopifyApi({
    apiKey: "hookstorm-test-app",
    apiSecretKey: secret,
    apiVersion: ApiVersion.July25 ?? Object.values(ApiVersion).pop(),
    hostName: "hookstorm.test",
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
  return async (body, headers) => {
    const rawRequest = { method: "POST", url: "/hooks", headers: lower(headers) };
    const result = await shopify.webhooks.validate({ rawBody: body, rawRequest, rawResponse: {} });
    if (!result.valid) {
      throw new Error(`${result.reason}${result.missingHeaders ? ": " + result.missingHeaders : ""}`);
    }
  };
}

const LIBRARIES = { octokit, "shopify-api": shopifyApi };

const library = process.argv[2];
if (!(library in LIBRARIES) || !prefix) {
  console.error("usage: HOOKSTORM_NPM=DIR node verify.mjs " + Object.keys(LIBRARIES).join("|"));
  process.exit(2);
}
const verify = await LIBRARIES[library](process.env.HOOK_SECRET);
console.log("ready");
for await (const line of readline.createInterface({ input: process.stdin })) {
  const record = JSON.parse(line);
  let verdict;
  try {
    await verify(record.body, record.headers);
    verdict = { verdict: "accepted" };
  } catch (e) {
    verdict = { verdict: "rejected", error: `${e.name}: ${e.message}` };
  }
  console.log(JSON.stringify(verdict));
}
