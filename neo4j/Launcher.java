// Embedded Neo4j (Community 5.26) with a Bolt connector, for development and tests on machines
// without Docker. Run as a single-file program (no javac step), normally via scripts/neo4j_server.py:
//
//   java -Xmx1g --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
//        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
//        -cp 'var/neo4j-lib/*' neo4j/Launcher.java --home <dir> --port <boltPort> \
//        [--pagecache 256m] [--tx-timeout-seconds 60] [--tx-memory-max 128m] [--tx-memory-total-max 512m]
//        [--cypher-min-replan-interval-seconds N] [--cypher-expression-engine interpreted]
//        [--cypher-size-hint-parameters false] [--exit-on-stdin-eof]
//
// Protocol with the parent process:
//   * stdout carries exactly one line, "NEO4J_READY bolt://127.0.0.1:<port>", once the database accepts
//     work. Anything else that would be printed to stdout goes to stderr instead.
//   * On failure a single line "NEO4J_FAILED: <reason>" goes to stderr and the exit code is 1
//     (usage errors: 2). Neo4j's own logs (debug.log etc.) stay in <home>/logs.
//   * SIGTERM / SIGINT run a shutdown hook that shuts Neo4j down cleanly (store flushed, no recovery on
//     the next start). With --exit-on-stdin-eof the launcher also shuts down when its stdin closes, so a
//     parent that dies without cleaning up (pytest killed, SIGKILL) does not leave an orphan JVM behind.

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public class Launcher {
    private static final String HOST = "127.0.0.1";

    public static void main(String[] args) {
        // Keep the real stdout for the single READY line; everything else (stray library output)
        // goes to stderr so the parent can rely on stdout being a one-line protocol.
        PrintStream protocolOut = System.out;
        System.setOut(System.err);

        Map<String, String> opts = parseArgs(args);
        String home = opts.get("--home");
        int port;
        try {
            port = Integer.parseInt(opts.getOrDefault("--port", ""));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (home == null || port <= 0 || port > 65535) {
            fail(2, "usage: Launcher --home <dir> --port <boltPort> [--pagecache 256m] "
                    + "[--tx-timeout-seconds 60] [--tx-memory-max 128m] [--tx-memory-total-max 512m] "
                    + "[--cypher-min-replan-interval-seconds N] [--cypher-expression-engine interpreted] "
                    + "[--cypher-size-hint-parameters false] "
                    + "[--exit-on-stdin-eof]");
        }
        long pageCache = ByteUnit.parse(opts.getOrDefault("--pagecache", "256m"));
        long txTimeout = Long.parseLong(opts.getOrDefault("--tx-timeout-seconds", "60"));
        // 0 = no limit (Neo4j's own default for one transaction).
        long txMemoryMax = ByteUnit.parse(opts.getOrDefault("--tx-memory-max", "0"));
        long txMemoryTotalMax = ByteUnit.parse(opts.getOrDefault("--tx-memory-total-max", "0"));

        // Fail fast on a busy port. Neo4j would also fail to bind, but only after several seconds of
        // store start-up, and with a long nested stack trace.
        if (!portIsFree(port)) {
            fail(1, "port " + port + " is already in use");
        }

        DatabaseManagementService dbms = null;
        try {
            DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(Path.of(home).toAbsolutePath())
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
                    // TLS is pointless on loopback and would need certificates.
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    .setConfig(HttpConnector.enabled, false)
                    // Dev/test instance on loopback: no users to manage. (neomodel still wants
                    // user:pass in its URL; any value is accepted.)
                    .setConfig(GraphDatabaseSettings.auth_enabled, false)
                    // Default is 50% of free RAM minus heap, far too much for a dev/test instance.
                    .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                    // Default is "no timeout": a runaway query would otherwise hold locks forever.
                    .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofSeconds(txTimeout))
                    .setConfig(GraphDatabaseSettings.lock_acquisition_timeout, Duration.ofSeconds(txTimeout))
                    // Memory a transaction (db.memory.transaction.max) and all of them together
                    // (dbms.memory.transaction.total.max) may use: past either, Neo4j fails that
                    // statement with MemoryPoolOutOfMemoryError instead of exhausting its heap (which,
                    // with -XX:+ExitOnOutOfMemoryError, would end the process).
                    .setConfig(GraphDatabaseSettings.memory_transaction_max_size, txMemoryMax)
                    .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemoryTotalMax)
                    // Transaction log files are otherwise pre-allocated at 256 MiB each on disk,
                    // which adds up quickly with one instance per developer/test run.
                    .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                    // On by default even when embedded ("Anonymous Usage Data is being sent to Neo4j").
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    // Netty waits a 5 s "quiet period" per Bolt event-loop group on shutdown, i.e. 10 s
                    // in total, after the databases are already stopped and flushed. 1 s is plenty.
                    .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 1);
            // The test servers: every test empties the graph, so the statistics a plan was made with
            // always look stale, and Neo4j planned the same few statements again and again (most of
            // its CPU in the quick test tier). Plans made once stay; results do not depend on them.
            if (opts.containsKey("--cypher-min-replan-interval-seconds")) {
                builder.setConfig(GraphDatabaseSettings.cypher_min_replan_interval,
                        Duration.ofSeconds(Long.parseLong(opts.get("--cypher-min-replan-interval-seconds"))));
            }
            // ... and a statement run often was planned once more to compile its expressions to
            // bytecode, which the JIT then compiled in turn: interpreted expressions skip both.
            if (opts.containsKey("--cypher-expression-engine")) {
                builder.setConfig(GraphDatabaseInternalSettings.cypher_expression_engine,
                        GraphDatabaseInternalSettings.CypherExpressionEngine.valueOf(
                                opts.get("--cypher-expression-engine").toUpperCase(java.util.Locale.ROOT)));
            }
            // ... and a plan is cached per size (bucket) of each list or string parameter, so that a
            // run of many different batch and text sizes kept missing the cache.
            if (opts.containsKey("--cypher-size-hint-parameters")) {
                builder.setConfig(GraphDatabaseInternalSettings.cypher_size_hint_parameters,
                        Boolean.parseBoolean(opts.get("--cypher-size-hint-parameters")));
            }
            dbms = builder.build();

            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            if (!db.isAvailable(Duration.ofSeconds(60).toMillis())) {
                throw new IllegalStateException("database 'neo4j' did not become available within 60 s");
            }
        } catch (Throwable t) {
            if (dbms != null) {
                try {
                    dbms.shutdown();
                } catch (Throwable ignored) {
                    // Already failing; the original error is the one worth reporting.
                }
            }
            fail(1, describe(t) + " (see " + Path.of(home, "logs", "debug.log") + ")");
        }

        // Registered only after a successful start: the JVM runs it on SIGTERM, SIGINT, SIGHUP and on
        // System.exit(), so every way out of the process below goes through a clean shutdown.
        final DatabaseManagementService running = dbms;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("NEO4J_STOPPING");
            running.shutdown();
            System.err.println("NEO4J_STOPPED");
        }, "neo4j-shutdown"));

        protocolOut.println("NEO4J_READY bolt://" + HOST + ":" + port);
        protocolOut.flush();

        if (opts.containsKey("--exit-on-stdin-eof")) {
            try {
                while (System.in.read() != -1) {
                    // Input is ignored; we only wait for end-of-file.
                }
            } catch (IOException ignored) {
                // A broken stdin means the parent is gone as well.
            }
            System.exit(0); // runs the shutdown hook
        }
        // Neo4j's own threads are non-daemon, but block explicitly rather than rely on that.
        try {
            Thread.currentThread().join();
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--exit-on-stdin-eof")) {
                opts.put(args[i], "true");
            } else if (args[i].startsWith("--") && i + 1 < args.length) {
                opts.put(args[i], args[++i]);
            } else {
                fail(2, "unexpected argument " + args[i]);
            }
        }
        return opts;
    }

    private static boolean portIsFree(int port) {
        // ServerSocket enables SO_REUSEADDR on Linux, so sockets in TIME_WAIT from a previous run do
        // not count as "in use"; a live listener (also one on 0.0.0.0) still makes bind() fail.
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Neo4j wraps start-up errors several levels deep; the innermost message is the useful one. */
    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getClass().getSimpleName() + ": " + root.getMessage();
        return root == t ? msg : t.getClass().getSimpleName() + " caused by " + msg;
    }

    private static void fail(int code, String message) {
        System.err.println("NEO4J_FAILED: " + message.replace('\n', ' '));
        System.err.flush();
        // halt(), not exit(): a half-started Neo4j may have registered hooks or non-daemon threads
        // that could otherwise keep the process alive ("do not hang").
        Runtime.getRuntime().halt(code);
    }
}
