// A third-party Connect client (@connectrpc/connect-node) calling Wrenn's guest agent.
// Usage: node client.mjs BASE_URL proto|json  -> prints one JSON object with what it saw.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SystemService } from "./gen/wrenn/guest/v1/system_pb.js";
import { ProcessService } from "./gen/wrenn/guest/v1/process_pb.js";
import { FilesystemService } from "./gen/wrenn/guest/v1/filesystem_pb.js";

const [baseUrl, format] = process.argv.slice(2);
const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: format === "proto" });
const decoder = new TextDecoder();
const seen = {};

seen.version = (await createClient(SystemService, transport).health({})).version;

let stdout = "", stderr = "", exitCode = null, pid = null;
for await (const event of createClient(ProcessService, transport).start({ command: "sh", args: ["-c", "echo out; echo err >&2; exit 4"] })) {
  switch (event.event.case) {
    case "started": pid = event.event.value.pid; break;
    case "stdout": stdout += decoder.decode(event.event.value.data); break;
    case "stderr": stderr += decoder.decode(event.event.value.data); break;
    case "exited": exitCode = event.event.value.exitCode; break;
  }
}
Object.assign(seen, { pid, stdout, stderr, exitCode });

try {
  await createClient(FilesystemService, transport).stat({ path: "/no/such/file/wt" });
  seen.missingFile = "no error";
} catch (e) {
  seen.missingFile = ConnectError.from(e).code === Code.NotFound ? "not_found" : String(ConnectError.from(e).code);
}
console.log(JSON.stringify(seen));
