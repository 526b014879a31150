// Prints src/keyhook/api/zitadel_protos.json: the services, methods and messages of
// ZITADEL's published definitions (@zitadel/proto) that Keyhook's Connect form needs
// (protojson names and types), read from the package's own descriptors.
//   node tests/node/zitadel/schema.mjs <served-methods.json>  (a JSON list of full methods)
// tests/api/test_zitadel_protos.py checks the committed file is what this prints.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ScalarType } from "@bufbuild/protobuf";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "node_modules/@zitadel/proto/es");
const served = new Set(JSON.parse(readFileSync(process.argv[2], "utf8")));

function* serviceModules(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* serviceModules(path);
    else if (entry.name.endsWith("_service_pb.js")) yield path;
  }
}

const scalarNames = Object.fromEntries(
  Object.entries(ScalarType).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k.toLowerCase()]),
);
const services = {};
const methods = {};
const messages = {};
const enums = {};

function enumOf(desc) {
  if (!(desc.typeName in enums)) {
    enums[desc.typeName] = Object.fromEntries(desc.values.map((v) => [v.name, v.number]));
  }
  return desc.typeName;
}

function typeOf(field, kind, scalar, message, enumDesc) {
  if (kind === "scalar") return ["scalar", scalarNames[scalar]];
  if (kind === "enum") return ["enum", enumOf(enumDesc)];
  return ["message", messageOf(message)];
}

function messageOf(desc) {
  const name = desc.typeName;
  // Well-known types have their own JSON forms (a Duration is "1.5s"): named, not expanded.
  if (name.startsWith("google.protobuf.") || name in messages) return name;
  messages[name] = null; // recursion guard
  const fields = [];
  for (const f of desc.fields) {
    const entry = { name: f.name, json: f.jsonName };
    if (f.fieldKind === "list") {
      entry.repeated = true;
      [entry.kind, entry.type] = typeOf(f, f.listKind, f.scalar, f.message, f.enum);
    } else if (f.fieldKind === "map") {
      entry.map = scalarNames[f.mapKey];
      [entry.kind, entry.type] = typeOf(f, f.mapKind, f.scalar, f.message, f.enum);
    } else {
      [entry.kind, entry.type] = typeOf(f, f.fieldKind, f.scalar, f.message, f.enum);
    }
    if (f.oneof) entry.oneof = f.oneof.name;
    if (f.presence !== undefined && f.proto.proto3Optional) entry.optional = true;
    fields.push(entry);
  }
  messages[name] = fields;
  return name;
}

for (const path of [...serviceModules(root)].sort()) {
  const module = await import(path);
  for (const file of Object.values(module).filter((v) => v && v.kind === "file")) {
    for (const service of file.services) {
      services[service.typeName] = {
        file: relative(root, path),
        methods: service.methods.map((m) => m.name),
      };
      for (const method of service.methods) {
        const full = `/${service.typeName}/${method.name}`;
        if (!served.has(full)) continue;
        methods[full] = { input: messageOf(method.input), output: messageOf(method.output) };
      }
    }
  }
}

const sorted = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
const pkg = JSON.parse(readFileSync(join(here, "node_modules/@zitadel/proto/package.json"), "utf8"));
process.stdout.write(
  JSON.stringify(
    {
      source: `@zitadel/proto ${pkg.version}`,
      services: sorted(services),
      methods: sorted(methods),
      messages: sorted(messages),
      enums: sorted(enums),
    },
    null,
    1,
  ) + "\n",
);
