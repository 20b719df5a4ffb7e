// A third-party gRPC server (@grpc/grpc-js on our .proto files) speaking the guest agent's
// protocol, so that Wrenn's AgentClient is checked against an implementation that is not ours.
// Prints {"port": N} once listening on 127.0.0.1; exits when stdin closes.
import { v1, grpc } from "./protos.mjs";

const fail = (code, details) => Object.assign(new Error(details), { code, details });
const server = new grpc.Server();
server.addService(v1.SystemService.service, {
  health: (_, callback) => callback(null, { version: "node-peer", uptimeMs: 1234, protocolVersion: 99, capabilities: ["node"] }),
});
server.addService(v1.ProcessService.service, {
  start: (call) => {
    const { command, args } = call.request;
    call.write({ started: { pid: 42 } });
    call.write({ stdout: { data: Buffer.from(`ran ${command} ${args.join(" ")}\n`) } });
    call.write({ stderr: { data: Buffer.from("node says hi\n") } });
    call.write({ exited: { exitCode: 7 } });
    call.end();
  },
});
server.addService(v1.FilesystemService.service, {
  stat: (call, callback) => callback(fail(grpc.status.NOT_FOUND, `${call.request.path} is not here`)),
  read: (call) => {
    call.write({ data: Buffer.from("partial"), offset: 0 });
    call.emit("error", fail(grpc.status.DATA_LOSS, "disk on fire"));
  },
  writeStream: (call, callback) => {
    let size = 0, path = null, messages = 0;
    call.on("data", (chunk) => { path ??= chunk.path; size += chunk.data.length; messages++; });
    call.on("end", () => callback(null, { path, size, name: `${messages} messages` }));
  },
  watch: (call) => {
    const ready = new grpc.Metadata();
    ready.set("wrenn-watch", "ready");
    call.sendMetadata(ready);
    call.write({ type: "FILE_EVENT_TYPE_RENAME", path: `${call.request.path}/new`, oldPath: `${call.request.path}/old`, isDirectory: false });
    call.end();
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ port }));
});
process.stdin.on("end", () => server.tryShutdown(() => process.exit(0)));
process.stdin.resume();
