package dev.berth.shim;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import dev.berth.api.shim.v1.ExecChunk;
import dev.berth.api.shim.v1.ExecTaskRequest;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import dev.berth.runtime.nativ.WaitStatus;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code runc exec} in the foreground: runc stays attached and exits with the process's exit
 * code. stdout/stderr chunks are streamed to the caller as they come; the last message carries
 * the exit code.
 */
final class ExecProcess {
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

    private ExecProcess() {
    }

    /**
     * The process.json for runc exec: the container's own process from config.json (env, cwd,
     * user, capabilities, rlimits...) with args, env, cwd and user of the request laid over it.
     */
    static JsonObject processSpec(Path bundle, ExecTaskRequest req) throws TaskException, IOException {
        if (req.getArgsCount() == 0) {
            throw new TaskException(Status.Code.INVALID_ARGUMENT, "exec needs args");
        }
        JsonObject config = JsonParser.parseString(Files.readString(bundle.resolve("config.json"))).getAsJsonObject();
        JsonObject process = config.has("process") ? config.getAsJsonObject("process").deepCopy() : new JsonObject();
        JsonArray args = new JsonArray();
        req.getArgsList().forEach(args::add);
        process.add("args", args);

        Map<String, String> env = new LinkedHashMap<>();
        if (process.has("env")) {
            for (JsonElement e : process.getAsJsonArray("env")) {
                putEnv(env, e.getAsString());
            }
        }
        req.getEnvList().forEach(kv -> putEnv(env, kv));
        JsonArray envArray = new JsonArray();
        env.forEach((k, v) -> envArray.add(v == null ? k : k + "=" + v));
        process.add("env", envArray);

        if (!req.getCwd().isEmpty()) {
            process.addProperty("cwd", req.getCwd());
        } else if (!process.has("cwd")) {
            process.addProperty("cwd", "/");
        }
        if (!req.getUser().isEmpty()) {
            process.add("user", parseUser(req.getUser()));
        } else if (!process.has("user")) {
            JsonObject root = new JsonObject();
            root.addProperty("uid", 0);
            root.addProperty("gid", 0);
            process.add("user", root);
        }
        process.addProperty("terminal", false);
        process.remove("consoleSize");
        return process;
    }

    private static void putEnv(Map<String, String> env, String kv) {
        int eq = kv.indexOf('=');
        if (eq < 0) {
            env.put(kv, null);
        } else {
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
    }

    private static JsonObject parseUser(String user) throws TaskException {
        String[] parts = user.split(":", -1);
        try {
            JsonObject u = new JsonObject();
            u.addProperty("uid", Integer.parseUnsignedInt(parts[0]));
            u.addProperty("gid", parts.length > 1 ? Integer.parseUnsignedInt(parts[1]) : 0);
            if (parts.length > 2) {
                throw new NumberFormatException();
            }
            return u;
        } catch (NumberFormatException e) {
            throw new TaskException(Status.Code.INVALID_ARGUMENT, "user must be uid[:gid], got " + user);
        }
    }

    /** Runs the exec and streams it to the observer; returns when the observer is completed. */
    static void run(String id, Path bundle, Path stateDir, ExecTaskRequest req, RuncDriver runc, Executor io,
                    ServerCallStreamObserver<ExecChunk> observer) throws TaskException {
        Path processFile = stateDir.resolve("exec-" + SEQUENCE.incrementAndGet() + ".json");
        Posix.Pipe out = null;
        Posix.Pipe err = null;
        Reaper.Child child;
        try {
            AtomicFiles.write(processFile, processSpec(bundle, req).toString());
            out = Posix.pipe();
            err = Posix.pipe();
            child = runc.spawnExec(id, processFile, out.writeFd(), err.writeFd());
        } catch (IOException | RuntimeException e) {
            deleteQuietly(processFile);
            closeQuietly(out);
            closeQuietly(err);
            throw TaskException.internal("exec in " + id + ": " + e.getMessage());
        }
        out.closeWrite();
        err.closeWrite();
        ShimLog.info("exec " + req.getExecId() + " pid " + child.pid() + ": " + String.join(" ", req.getArgsList()));

        // grpc's StreamObserver is not thread-safe; the two pumps and this thread share it.
        // Output that arrives after the drain deadline is dropped (finished), never sent after onCompleted.
        Object sendLock = new Object();
        AtomicBoolean finished = new AtomicBoolean();
        observer.setOnCancelHandler(() -> Posix.kill(child.pid(), 15)); // runc forwards it to the process
        StreamPump stdout = StreamPump.start(out.detachRead(), sender(observer, sendLock, finished, true), io);
        StreamPump stderr = StreamPump.start(err.detachRead(), sender(observer, sendLock, finished, false), io);
        try {
            WaitStatus status = child.exit().get();
            long deadline = System.nanoTime() + DRAIN_NANOS;
            stdout.awaitEnd(deadline);
            stderr.awaitEnd(deadline);
            synchronized (sendLock) {
                finished.set(true);
                if (!observer.isCancelled()) {
                    observer.onNext(ExecChunk.newBuilder().setExitCode(status.exitCode()).build());
                    observer.onCompleted();
                }
            }
        } catch (Exception e) {
            synchronized (sendLock) {
                finished.set(true);
                observer.onError(Status.INTERNAL.withDescription("exec: " + e.getMessage()).asRuntimeException());
            }
        } finally {
            deleteQuietly(processFile);
        }
    }

    private static StreamPump.Sink sender(ServerCallStreamObserver<ExecChunk> observer, Object lock,
                                          AtomicBoolean finished, boolean isStdout) {
        return new StreamPump.Sink() {
            @Override
            public void chunk(byte[] buf, int len) {
                ByteString bytes = ByteString.copyFrom(Arrays.copyOf(buf, len));
                ExecChunk chunk = isStdout ? ExecChunk.newBuilder().setStdout(bytes).build()
                        : ExecChunk.newBuilder().setStderr(bytes).build();
                synchronized (lock) {
                    if (!finished.get() && !observer.isCancelled()) {
                        observer.onNext(chunk);
                    }
                }
            }

            @Override
            public void endOfStream() {
            }
        };
    }

    private static void closeQuietly(Posix.Pipe pipe) {
        if (pipe != null) {
            pipe.close();
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            ShimLog.warn("cannot remove " + file + ": " + e.getMessage());
        }
    }
}
