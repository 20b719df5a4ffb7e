// A third-party Connect server (@connectrpc/connect-node) speaking the guest agent's protocol, so
// that Wrenn's own Connect client is checked against an implementation that is not ours.
// Prints {"port": N} once listening on 127.0.0.1; exits when stdin closes.
import http from "node:http";
import { ConnectError, Code } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SystemService } from "./gen/wrenn/guest/v1/system_pb.js";
import { ProcessService } from "./gen/wrenn/guest/v1/process_pb.js";
import { FilesystemService } from "./gen/wrenn/guest/v1/filesystem_pb.js";

const encoder = new TextEncoder();
const handler = connectNodeAdapter({
  routes(router) {
    router.service(SystemService, {
      health: () => ({ version: "node-peer", uptimeMs: 1234n }),
    });
    router.service(ProcessService, {
      async *start(request) {
        yield { event: { case: "started", value: { pid: 42 } } };
        yield { event: { case: "stdout", value: { data: encoder.encode(`ran ${request.command} ${request.args.join(" ")}\n`) } } };
        yield { event: { case: "stderr", value: { data: encoder.encode("node says hi\n") } } };
        yield { event: { case: "exited", value: { exitCode: 7 } } };
      },
    });
    router.service(FilesystemService, {
      stat: (request) => { throw new ConnectError(`${request.path} is not here`, Code.NotFound); },
      async *read() {
        yield { data: encoder.encode("partial"), offset: 0n };
        throw new ConnectError("disk on fire", Code.DataLoss);
      },
    });
  },
});
const server = http.createServer(handler).listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.stdin.on("end", () => server.close(() => process.exit(0)));
process.stdin.resume();
