// A third-party Connect client (@connectrpc/connect-node) calling Wrenn's guest agent.
// Usage: node client.mjs BASE_URL proto|json FILE -> prints one JSON object with what it saw.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SystemService } from "./gen/wrenn/guest/v1/system_pb.js";
import { ProcessService } from "./gen/wrenn/guest/v1/process_pb.js";
import { FilesystemService } from "./gen/wrenn/guest/v1/filesystem_pb.js";

const [baseUrl, format] = process.argv.slice(2, 4);
const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: format === "proto" });
const decoder = new TextDecoder();
const seen = {};

const system = createClient(SystemService, transport);
seen.version = (await system.health({})).version;
seen.hasPtpClock = (await system.hasPtpClock({})).present;

let stdout = "", stderr = "", exitCode = null, pid = null;
const start = { command: "sh", args: ["-c", "echo $WT_WORD; echo err >&2; exit 4"], env: { WT_WORD: "out" } };
for await (const event of createClient(ProcessService, transport).start(start)) {
  switch (event.event.case) {
    case "started": pid = event.event.value.pid; break;
    case "stdout": stdout += decoder.decode(event.event.value.data); break;
    case "stderr": stderr += decoder.decode(event.event.value.data); break;
    case "exited": exitCode = event.event.value.exitCode; break;
  }
}
Object.assign(seen, { pid, stdout, stderr, exitCode });

const files = createClient(FilesystemService, transport);
async function codeOf(call) {
  try {
    await call();
    return "no error";
  } catch (e) {
    return Code[ConnectError.from(e).code];
  }
}
seen.missingFile = await codeOf(() => files.stat({ path: "/no/such/file/wt" }));
seen.relativePath = await codeOf(() => files.stat({ path: "relative/wt" }));
seen.unknownPid = await codeOf(() => createClient(ProcessService, transport).sendSignal({ pid: 999999, signal: 15 }));

// A server stream of several chunks: the file named by the caller, read 1000 bytes at a time.
let read = 0, chunks = 0;
for await (const chunk of files.read({ path: process.argv[4], chunkSize: 1000 })) {
  read += chunk.data.length;
  chunks++;
}
Object.assign(seen, { read, chunks });
console.log(JSON.stringify(seen));
