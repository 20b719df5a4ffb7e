// A third-party gRPC client (@grpc/grpc-js on our .proto files) calling Wrenn's guest agent.
// Usage: node client.mjs HOST:PORT FILE DIR -> prints one JSON object with what it saw.
import fs from "node:fs/promises";
import path from "node:path";
import { v1, grpc, codeName } from "./protos.mjs";

const [target, file, dir] = process.argv.slice(2, 5);
const credentials = grpc.credentials.createInsecure();
const system = new v1.SystemService(target, credentials);
const processes = new v1.ProcessService(target, credentials);
const files = new v1.FilesystemService(target, credentials);
const unary = (client, method, request) =>
  new Promise((resolve, reject) => client[method](request, (error, response) => (error ? reject(error) : resolve(response))));
const codeOf = (promise) => promise.then(() => "OK", (e) => codeName(e.code));
const decoder = new TextDecoder();
const seen = {};

const health = await unary(system, "health", {});
Object.assign(seen, { version: health.version, protocolVersion: health.protocolVersion, capabilities: health.capabilities });

// Server streaming: a command run to its end.
let stdout = "", stderr = "", exitCode = null, pid = null;
for await (const event of processes.start({ command: "sh", args: ["-c", "echo $WT_WORD; echo err >&2; exit 4"], env: { WT_WORD: "out" } })) {
  switch (event.event) {
    case "started": pid = event.started.pid; break;
    case "stdout": stdout += decoder.decode(event.stdout.data); break;
    case "stderr": stderr += decoder.decode(event.stderr.data); break;
    case "exited": exitCode = event.exited.exitCode; break;
  }
}
Object.assign(seen, { pid, stdout, stderr, exitCode });

seen.missingFile = await codeOf(unary(files, "stat", { path: "/no/such/file/wt" }));
seen.relativePath = await codeOf(unary(files, "stat", { path: "relative/wt" }));
seen.unknownPid = await codeOf(unary(processes, "sendSignal", { pid: 999999, signal: 15 }));
seen.pidOne = await codeOf(unary(processes, "sendSignal", { pid: 1, signal: 15 }));

// A server stream of several chunks: the file named by the caller, read 1000 bytes at a time.
let read = 0, chunks = 0;
for await (const chunk of files.read({ path: file, chunkSize: 1000 })) {
  read += chunk.data.length;
  chunks++;
}
Object.assign(seen, { read, chunks });

// Client streaming: one file written in three messages.
const written = path.join(dir, "from-node.txt");
seen.written = await new Promise((resolve, reject) => {
  const call = files.writeStream((error, info) => (error ? reject(error) : resolve(info.size)));
  call.write({ path: written, data: Buffer.from("one,") });
  call.write({ data: Buffer.from("two,") });
  call.write({ data: Buffer.from("three") });
  call.end();
});
seen.writtenContent = await fs.readFile(written, "utf8");

// A shell on a terminal, started without waiting, attached to and typed into.
const shell = await unary(processes, "startProcess", { command: "sh", pty: { cols: 80, rows: 24 } });
seen.shellPty = shell.pty;
const attach = processes.attach({ pid: shell.pid });
let terminal = "";
const answered = new Promise((resolve) => {
  attach.on("data", (event) => {
    if (event.event === "pty") {
      terminal += decoder.decode(event.pty.data);
      if (terminal.includes("\r\n42\r\n")) resolve(true);
    }
    if (event.event === "started") unary(processes, "sendInput", { pid: shell.pid, data: Buffer.from("echo $((6*7))\n") });
  });
});
attach.on("error", () => {});
seen.shellAnswered = await answered;
attach.cancel();
await unary(processes, "sendSignal", { pid: shell.pid, signal: 9 });

// A directory watch: its headers arrive once the watch is in place, then a new file's CREATE.
const watch = files.watch({ path: dir, recursive: false });
watch.on("error", () => {});
await new Promise((resolve) => watch.on("metadata", resolve));
const created = path.join(dir, "created-while-watched");
const event = new Promise((resolve) => watch.on("data", (e) => { if (e.path === created) resolve(e); }));
await fs.writeFile(created, "x");
const create = await event;
seen.watched = { type: create.type, isDirectory: create.isDirectory };
watch.cancel();

console.log(JSON.stringify(seen));
for (const client of [system, processes, files]) client.close();
