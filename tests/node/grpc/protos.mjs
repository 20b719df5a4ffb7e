// Loads Wrenn's guest protocol from its .proto files at run time (@grpc/proto-loader): no generated
// code, so the peers always speak exactly what guest/Wrenn.Guest.Protocol/Protos says.
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../guest/Wrenn.Guest.Protocol/Protos");
const definition = protoLoader.loadSync(
  ["wrenn/guest/v1/system.proto", "wrenn/guest/v1/process.proto", "wrenn/guest/v1/filesystem.proto"],
  { includeDirs: [root], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true },
);
export const v1 = grpc.loadPackageDefinition(definition).wrenn.guest.v1;
export { grpc };

/** The status code's name (NOT_FOUND, ...), as grpc-js spells it. */
export const codeName = (code) => Object.keys(grpc.status).find((name) => grpc.status[name] === code);
