// A Connect client built from ZITADEL's published definitions (@zitadel/proto) with
// @connectrpc/connect-node over HTTP/1.1 JSON, decoding strictly (an unknown member in
// an answer is an error). It runs a plan of calls and prints what each one got.
//   node tests/node/zitadel/client.mjs <plan.json>
// plan: {"baseUrl", "token", "calls": [{"name", "method": "/pkg.Service/Method",
//   "request": {…protojson…}, "timeoutMs"?}]}; a string "${name.path.to.member}" in a
// request is replaced by that member of an earlier call's answer.
// Prints one JSON object: {name: {"ok": true, "answer": {…}, "leftOut": [what Keyhook's
//   answer had that the message has not: its Keyhook-Left-Out header]} | {"ok": false, "code",
//   "message", "details": [{type, debug}], "decoded": [{…Struct as JSON…}]}}.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "node_modules/@zitadel/proto/es");
const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));

function* serviceModules(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* serviceModules(path);
    else if (entry.name.endsWith("_service_pb.js")) yield path;
  }
}

const services = new Map();
for (const path of serviceModules(root)) {
  const module = await import(path);
  for (const value of Object.values(module)) {
    if (value && value.kind === "service") services.set(value.typeName, value);
  }
}

const transport = createConnectTransport({
  baseUrl: plan.baseUrl,
  httpVersion: "1.1",
  useBinaryFormat: false,
  jsonOptions: { ignoreUnknownFields: false },
  interceptors: [
    (next) => async (req) => {
      req.header.set("Authorization", `Bearer ${plan.token}`);
      return next(req);
    },
  ],
});

const results = {};
function member(path) {
  const [name, ...rest] = path.split(".");
  let value = results[name]?.answer;
  for (const part of rest) value = value?.[part];
  return value;
}
function filled(value) {
  if (typeof value === "string") {
    const whole = /^\$\{([^}]+)\}$/.exec(value);
    if (whole) return member(whole[1]);
    return value.replace(/\$\{([^}]+)\}/g, (_, path) => String(member(path)));
  }
  if (Array.isArray(value)) return value.map(filled);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, filled(v)]));
  }
  return value;
}

for (const call of plan.calls) {
  const [, serviceName, methodName] = /^\/([^/]+)\/([^/]+)$/.exec(call.method);
  const service = services.get(serviceName);
  if (!service) {
    results[call.name] = { ok: false, code: "client", message: `no service ${serviceName}` };
    continue;
  }
  const method = service.methods.find((m) => m.name === methodName);
  const client = createClient(service, transport);
  try {
    const input = fromJson(method.input, filled(call.request ?? {}));
    let leftOut = null;
    const onHeader = (headers) => {
      leftOut = headers.get("keyhook-left-out");
    };
    const answer = await client[method.localName](input, { timeoutMs: call.timeoutMs, onHeader });
    results[call.name] = {
      ok: true,
      answer: toJson(method.output, answer, { alwaysEmitImplicit: false }),
      leftOut: leftOut ? leftOut.split(", ") : [],
    };
  } catch (err) {
    if (!(err instanceof ConnectError)) {
      results[call.name] = { ok: false, code: "client", message: String(err) };
      continue;
    }
    results[call.name] = {
      ok: false,
      code: codeToString(err.code),
      message: err.rawMessage,
      details: err.details.map((d) => ({ type: d.type, debug: d.debug })),
      decoded: err.findDetails(StructSchema).map((s) => toJson(StructSchema, s)),
    };
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
