#!/usr/bin/env node
// Validates deploy/ without a cluster or a container engine:
//   - renders deploy/k8s/base and both overlays with every given kubectl (`kubectl kustomize`), checks
//     each object against the Kubernetes schemas (kubernetes-models) and our own invariants (gRPC
//     probes, drain timing, security context, config keys, session store -> Redis Service, router);
//     with two kubectl versions, also that both render the same objects;
//   - deploy/nginx: the template's placeholders and routing directives; render.sh's output passes
//     `nginx -t` when nginx is installed;
//   - deploy/Dockerfile statically: COPY sources exist, runtime packages exist in the apt index, and
//     (given --server/--cli) they provide every shared library the built binaries need;
//   - deploy/grafana/minimind-dashboard.json: importable JSON whose expressions use only the metrics
//     the server exports (METRICS below).
// Exit 0 = pass, 1 = a check failed, 77 = skipped (no kubectl).
//
//   node validate_manifests.mjs [--repo DIR] [--kubectl PATH]... [--server BIN] [--cli BIN]

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";

const MODELS = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
};

// What minimind-server exports on MINIMIND_METRICS_LISTEN (/metrics); the dashboard may use nothing else.
const METRICS = {
  counter: [
    "minimind_request_finished_total", "minimind_grpc_requests_total",
    "minimind_prompt_tokens_total", "minimind_cached_prompt_tokens_total",
    "minimind_generation_tokens_total", "minimind_prefix_cache_queries_total",
    "minimind_prefix_cache_hits_total", "minimind_session_cache_queries_total",
    "minimind_session_cache_hits_total", "minimind_kv_evictions_total",
    "minimind_preemptions_total", "minimind_sessions_created_total",
    "minimind_sessions_expired_total", "minimind_sessions_evicted_total",
    "minimind_sessions_deleted_total",
  ],
  histogram: [
    "minimind_request_queue_time_seconds", "minimind_time_to_first_token_seconds",
    "minimind_time_per_output_token_seconds", "minimind_e2e_request_latency_seconds",
  ],
  gauge: [
    "minimind_num_requests_running", "minimind_num_requests_waiting", "minimind_kv_blocks_used",
    "minimind_kv_blocks_free", "minimind_kv_blocks_cached", "minimind_kv_blocks_total",
    "minimind_sessions_active", "minimind_draining", "minimind_model_info",
  ],
};

// Configuration variables the deployment sets before docs/service.md lists them (the metrics
// endpoint and the Redis session store land with the same operations issue).
const PENDING_ENV = new Set(["MINIMIND_METRICS_LISTEN", "MINIMIND_SESSION_STORE"]);

const failures = [];
let checks = 0;
function check(condition, message) {
  checks += 1;
  if (!condition) failures.push(message);
  return Boolean(condition);
}

function parseArgs(argv) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const args = { repo: path.resolve(here, "../.."), kubectl: [], server: null, cli: null };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case "--repo": args.repo = path.resolve(value); i += 1; break;
      case "--kubectl": args.kubectl.push(value); i += 1; break;
      case "--server": args.server = value; i += 1; break;
      case "--cli": args.cli = value; i += 1; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

function which(program) {
  const found = spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : null;
}

function skip(message) {
  console.log(`SKIPPED: ${message}`);
  process.exit(77);
}

// "30s", "10m", "2h", "500ms" -> seconds.
function durationSeconds(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(text));
  if (!match) return NaN;
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2]];
}

function portOf(listen) {
  const match = /:(\d+)$/.exec(String(listen));
  return match ? Number(match[1]) : NaN;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

function render(kubectl, dir) {
  const result = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8" });
  if (result.status !== 0) {
    check(false, `${kubectl} kustomize ${dir} failed: ${result.stderr.trim()}`);
    return [];
  }
  const objects = [];
  for (const document of parseAllDocuments(result.stdout)) {
    if (document.errors.length) {
      check(false, `${dir}: YAML error ${document.errors[0].message}`);
      continue;
    }
    const object = document.toJS();
    if (object) objects.push(object);
  }
  return objects;
}

function validateSchemas(objects, where) {
  for (const object of objects) {
    const key = `${object.apiVersion}/${object.kind}`;
    const Model = MODELS[key];
    if (!check(Model, `${where}: no schema for ${key} ${object.metadata?.name}`)) continue;
    try {
      new Model(object).validate();
      checks += 1;
    } catch (error) {
      check(false, `${where}: ${object.kind} ${object.metadata?.name}: ${error.message}`);
    }
  }
}

const find = (objects, kind, name) =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);

// A generated ConfigMap keeps its name as a prefix: NAME-<hash>.
const findConfigMap = (objects, reference) =>
  objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === reference);

// [major, minor, patch] >= [major, minor, patch]
function atLeast(version, minimum) {
  for (let i = 0; i < minimum.length; i += 1) {
    if (version[i] !== minimum[i]) return version[i] > minimum[i];
  }
  return true;
}

const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);

function checkServer(objects, where, docEnv, dockerfile) {
  const deployment = find(objects, "StatefulSet", "minimind-serve");
  if (!check(deployment, `${where}: no StatefulSet minimind-serve`)) return null;
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "minimind-server");
  if (!check(container, `${where}: no container minimind-server`)) return null;

  const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  check(ports.grpc === 50051, `${where}: container port grpc must be 50051`);
  check(ports.metrics === 9090, `${where}: container port metrics must be 9090`);

  const reference = container.envFrom?.[0]?.configMapRef?.name;
  const configMap = findConfigMap(objects, reference);
  if (!check(configMap, `${where}: envFrom ConfigMap ${reference} is not in the output`)) return null;
  const env = configMap.data ?? {};
  for (const key of Object.keys(env)) {
    check(docEnv.has(key) || PENDING_ENV.has(key),
          `${where}: ConfigMap key ${key} is not a minimind-server variable (docs/service.md)`);
  }
  check(portOf(env.MINIMIND_LISTEN) === ports.grpc, `${where}: MINIMIND_LISTEN port != grpc port`);
  check(portOf(env.MINIMIND_METRICS_LISTEN) === ports.metrics,
        `${where}: MINIMIND_METRICS_LISTEN port != metrics port`);
  check(env.MINIMIND_MODEL === dockerfile.modelDir,
        `${where}: MINIMIND_MODEL ${env.MINIMIND_MODEL} is not the image's model ${dockerfile.modelDir}`);
  check(env.MINIMIND_THREADS === String(container.resources?.limits?.cpu),
        `${where}: MINIMIND_THREADS should equal the CPU limit (the server cannot see a CFS quota)`);

  // gRPC probes on the overall health (no service name): it is NOT_SERVING while loading and draining.
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const spec = container[probe];
    if (!check(spec?.grpc, `${where}: ${probe} must be a native gRPC probe`)) continue;
    check(spec.grpc.port === 50051, `${where}: ${probe} must probe port 50051`);
    check(!spec.grpc.service, `${where}: ${probe} must check the overall health (service "")`);
  }

  const grace = durationSeconds(env.MINIMIND_SHUTDOWN_GRACE);
  check(Number.isFinite(grace), `${where}: MINIMIND_SHUTDOWN_GRACE "${env.MINIMIND_SHUTDOWN_GRACE}" unparsable`);
  const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
  check(preStop[0] === "sleep" && Number(preStop[1]) > 0, `${where}: preStop must be exec ["sleep", N]`);
  const preStopSeconds = Number(preStop[1]) || 0;
  const terminationGrace = pod.terminationGracePeriodSeconds;
  check(terminationGrace > grace, `${where}: terminationGracePeriodSeconds ${terminationGrace} <= ` +
        `MINIMIND_SHUTDOWN_GRACE ${grace}s`);
  check(terminationGrace > grace + preStopSeconds,
        `${where}: terminationGracePeriodSeconds ${terminationGrace} <= preStop ${preStopSeconds}s + grace ${grace}s`);
  const liveness = container.livenessProbe ?? {};
  check((liveness.periodSeconds ?? 10) * (liveness.failureThreshold ?? 3) > grace + preStopSeconds,
        `${where}: the liveness probe could restart a draining server`);

  for (const kind of ["requests", "limits"]) {
    check(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory,
          `${where}: resources.${kind} needs cpu and memory`);
  }
  const podSecurity = pod.securityContext ?? {};
  const security = container.securityContext ?? {};
  check(security.runAsNonRoot ?? podSecurity.runAsNonRoot, `${where}: runAsNonRoot`);
  check((security.runAsUser ?? podSecurity.runAsUser) === dockerfile.uid,
        `${where}: runAsUser must be the image's uid ${dockerfile.uid}`);
  check(security.readOnlyRootFilesystem === true, `${where}: readOnlyRootFilesystem`);
  check(security.allowPrivilegeEscalation === false, `${where}: allowPrivilegeEscalation false`);
  check(security.capabilities?.drop?.includes("ALL"), `${where}: capabilities drop ALL`);
  check(pod.enableServiceLinks === false,
        `${where}: enableServiceLinks must be false (service links inject MINIMIND_* variables)`);

  const headless = find(objects, "Service", "minimind-serve-headless");
  if (check(headless, `${where}: no headless Service minimind-serve-headless`)) {
    check(headless.spec.clusterIP === "None", `${where}: minimind-serve-headless must be headless`);
    check(matches(headless.spec.selector, deployment.spec.template.metadata.labels),
          `${where}: minimind-serve-headless does not select the server Pods`);
    check(headless.spec.ports.some((p) => p.port === 50051), `${where}: headless port 50051`);
    check(!headless.spec.publishNotReadyAddresses, `${where}: draining replicas must leave DNS`);
    check(deployment.spec.serviceName === "minimind-serve-headless",
          `${where}: the StatefulSet's serviceName must be the headless Service`);
  }

  const service = find(objects, "Service", "minimind-serve");
  if (check(service, `${where}: no Service minimind-serve`)) {
    check((service.spec.type ?? "ClusterIP") === "ClusterIP", `${where}: Service must be ClusterIP`);
    check(matches(service.spec.selector, deployment.spec.template.metadata.labels),
          `${where}: Service minimind-serve does not select the server Pods`);
    const servicePorts = Object.fromEntries(service.spec.ports.map((p) => [p.name, p]));
    check(servicePorts.grpc?.port === 50051, `${where}: Service port grpc 50051`);
    check(servicePorts.metrics?.port === 9090, `${where}: Service port metrics 9090`);
    const annotations = service.metadata.annotations ?? {};
    check(annotations["prometheus.io/scrape"] === "true", `${where}: prometheus.io/scrape annotation`);
    check(Number(annotations["prometheus.io/port"]) === ports.metrics, `${where}: prometheus.io/port`);
  }
  return { deployment, env };
}

function checkSingle(objects, server, where) {
  check(server.deployment.spec.replicas === 1, `${where}: 1 replica`);
  check(server.env.MINIMIND_SESSION_STORE === "memory", `${where}: MINIMIND_SESSION_STORE=memory`);
  check(!find(objects, "Deployment", "minimind-redis"), `${where}: no Redis`);
}

function checkReplicated(objects, server, where) {
  check(server.deployment.spec.replicas === 3, `${where}: 3 replicas`);

  // The session store URL names a Service of this overlay that leads to the Redis container.
  const store = /^redis:\/\/([a-z0-9-]+):(\d+)(?:\/(\d+))?$/.exec(server.env.MINIMIND_SESSION_STORE ?? "");
  if (check(store, `${where}: MINIMIND_SESSION_STORE must be redis://SERVICE:PORT/DB`)) {
    const service = find(objects, "Service", store[1]);
    if (check(service, `${where}: the session store's Service ${store[1]} is not in the overlay`)) {
      const port = service.spec.ports.find((p) => p.port === Number(store[2]));
      check(port, `${where}: Service ${store[1]} has no port ${store[2]}`);
      const backend = objects.find((o) => o.kind === "Deployment" &&
                                          matches(service.spec.selector, o.spec.template.metadata.labels));
      if (check(backend, `${where}: Service ${store[1]} selects no Deployment`)) {
        const redis = backend.spec.template.spec.containers[0];
        const target = redis.ports?.find((p) => p.name === port?.targetPort || p.containerPort === port?.targetPort);
        check(target, `${where}: ${store[1]}'s targetPort is not a port of ${backend.metadata.name}`);
        check(/^redis:7(\.|$)/.test(redis.image), `${where}: Redis image redis:7`);
        const args = redis.args ?? [];
        const value = (flag) => args[args.indexOf(flag) + 1];
        check(args.includes("--save") && value("--save") === "" && value("--appendonly") === "no",
              `${where}: Redis runs without persistence (--save "" --appendonly no)`);
      }
    }
  }

  const router = find(objects, "Deployment", "minimind-router");
  if (!check(router, `${where}: no Deployment minimind-router`)) return;
  const pod = router.spec.template.spec;
  const nginx = pod.containers[0];
  const version = /:(\d+)\.(\d+)(?:\.(\d+))?/.exec(nginx.image)?.slice(1).map((n) => Number(n ?? 0));
  check(version && atLeast(version, [1, 27, 3]),
        `${where}: the router needs OSS nginx >= 1.27.3 for 'resolve' (image ${nginx.image})`);
  const env = Object.fromEntries((nginx.env ?? []).map((e) => [e.name, e.value]));
  check(env.NGINX_ENTRYPOINT_LOCAL_RESOLVERS === "1", `${where}: router needs NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1`);
  // One `server NAME resolve;` per replica, by its StatefulSet DNS name: the consistent hash
  // places servers by the written name, so one name for all replicas would collapse the ring.
  const upstreams = [...(env.MINIMIND_UPSTREAM_SERVERS ?? "").matchAll(/server (\S+) resolve;/g)].map((m) => m[1]);
  const expected = Array.from({ length: server.deployment.spec.replicas }, (_, i) =>
    `minimind-serve-${i}.minimind-serve-headless.$(POD_NAMESPACE).svc.cluster.local:50051`);
  check(upstreams.join() === expected.join(),
        `${where}: router upstream must list the ${expected.length} replicas' DNS names with resolve ` +
        `(got ${upstreams})`);
  const templateVolume = pod.volumes.find((v) => v.configMap &&
    nginx.volumeMounts.some((m) => m.name === v.name && m.mountPath === "/etc/nginx/templates"));
  const templateMap = templateVolume && findConfigMap(objects, templateVolume.configMap.name);
  if (check(templateMap, `${where}: the router's template ConfigMap is not in the output`)) {
    checkNginxTemplate(templateMap.data?.["minimind.conf.template"] ?? "", `${where}: router ConfigMap`);
  }
  const listenPort = Number(env.MINIMIND_ROUTER_LISTEN_PORT);
  check(nginx.ports.some((p) => p.containerPort === listenPort), `${where}: router containerPort != listen port`);
  const routerService = find(objects, "Service", "minimind-router");
  if (check(routerService, `${where}: no Service minimind-router`)) {
    check(matches(routerService.spec.selector, router.spec.template.metadata.labels),
          `${where}: Service minimind-router does not select the router Pods`);
  }
}

// Objects compared across kubectl versions: generated names differ only in their hash suffix.
function normalized(objects) {
  const text = JSON.stringify(objects.map((o) => {
    const copy = structuredClone(o);
    if (copy.metadata?.annotations && !Object.keys(copy.metadata.annotations).length) {
      delete copy.metadata.annotations;
    }
    return copy;
  }).sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`)));
  return text.replace(/(minimind-[a-z-]+?)-[a-z0-9]{10}"/g, '$1-HASH"');
}

// ---------------------------------------------------------------------------------------------
// nginx

const NGINX_PLACEHOLDERS = ["MINIMIND_ROUTER_LISTEN_PORT", "MINIMIND_UPSTREAM_SERVERS",
                            "MINIMIND_ROUTER_ACCESS_LOG", "NGINX_LOCAL_RESOLVERS"];

function checkNginxTemplate(text, where) {
  const placeholders = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]));
  check([...placeholders].sort().join() === [...NGINX_PLACEHOLDERS].sort().join(),
        `${where}: placeholders ${[...placeholders]} != ${NGINX_PLACEHOLDERS}`);
  check(/map \$http_x_session_id \$minimind_route_key \{/.test(text), `${where}: key from x-session-id`);
  check(/^\s*hash \$minimind_route_key consistent;/m.test(text), `${where}: consistent hash directive`);
  check(/^\s*grpc_pass grpc:\/\/minimind_replicas;/m.test(text), `${where}: grpc_pass to the upstream`);
  check(/^\s*listen \$\{MINIMIND_ROUTER_LISTEN_PORT\} http2;/m.test(text), `${where}: http2 listen`);
  check(/^\s*zone minimind_replicas /m.test(text), `${where}: upstream zone (needed by resolve)`);
}

function checkNginxLoopback(repo) {
  const template = fs.readFileSync(path.join(repo, "deploy/nginx/minimind.conf.template"), "utf8");
  checkNginxTemplate(template, "deploy/nginx/minimind.conf.template");
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "minimind-nginx-"));
  try {
    const rendered = spawnSync("bash", [path.join(repo, "deploy/nginx/render.sh"), prefix, "18080",
                                        "127.0.0.1:50051", "127.0.0.1:50052"], { encoding: "utf8" });
    if (!check(rendered.status === 0, `render.sh failed: ${rendered.stderr}`)) return;
    const config = fs.readFileSync(path.join(prefix, "minimind.conf"), "utf8");
    check(!config.includes("${"), "render.sh left a placeholder");
    check(config.includes("server 127.0.0.1:50051; server 127.0.0.1:50052;"), "render.sh upstream servers");
    const nginx = which("nginx") ?? (fs.existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
    if (!nginx) {
      console.log("note: nginx not installed; the rendered config was not checked with nginx -t");
      return;
    }
    const tested = spawnSync(nginx, ["-t", "-p", prefix, "-c", "nginx.conf", "-e", "stderr"],
                             { encoding: "utf8" });
    check(tested.status === 0, `nginx -t on render.sh's output failed: ${tested.stderr}`);
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

function parseDockerfile(text) {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const argument = rest.join(" ");
    if (instruction.toUpperCase() === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argument);
      stages.push({ image: match[1], name: match[2], instructions: [] });
    } else {
      stages.at(-1).instructions.push({ instruction: instruction.toUpperCase(), argument });
    }
  }
  return stages;
}

function checkDockerfile(repo, args) {
  const file = path.join(repo, "deploy/Dockerfile");
  const stages = parseDockerfile(fs.readFileSync(file, "utf8"));
  const result = { uid: NaN, modelDir: null };
  const [builder, runtime] = stages;
  check(stages.length === 2, "Dockerfile: two stages (builder, runtime)");
  check(builder?.image === "debian:bookworm", "Dockerfile: builder FROM debian:bookworm");
  check(runtime?.image === "debian:bookworm-slim", "Dockerfile: runtime FROM debian:bookworm-slim");
  if (!builder || !runtime) return result;

  const ignored = fs.readFileSync(path.join(repo, ".dockerignore"), "utf8").split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  check(ignored.includes("build/") && ignored.includes(".git"), ".dockerignore excludes build/ and .git");

  const copies = [];
  for (const stage of stages) {
    for (const { instruction, argument } of stage.instructions) {
      if (instruction !== "COPY") continue;
      const parts = argument.split(/\s+/);
      const from = parts.find((p) => p.startsWith("--from="))?.slice(7);
      const paths = parts.filter((p) => !p.startsWith("--"));
      copies.push({ stage: stage.name, from, sources: paths.slice(0, -1), destination: paths.at(-1) });
    }
  }
  for (const copy of copies.filter((c) => !c.from)) {
    for (const source of copy.sources) {
      if (source === ".") continue;
      check(fs.existsSync(path.join(repo, source)), `Dockerfile: COPY source ${source} does not exist`);
      check(!/^(build|\.git)(\/|$)/.test(source), `Dockerfile: COPY source ${source} is .dockerignored`);
    }
  }
  const fromBuilder = copies.filter((c) => c.from === builder.name);
  const serverCopy = fromBuilder.find((c) => c.sources[0].endsWith("/service/minimind-server"));
  const cliCopy = fromBuilder.find((c) => c.sources[0].endsWith("/tools/cli/minimind"));
  check(serverCopy && cliCopy, "Dockerfile: the runtime copies minimind-server and minimind from the builder");
  const builderRuns = builder.instructions.filter((i) => i.instruction === "RUN").map((i) => i.argument).join("\n");
  check(builderRuns.includes("scripts/install-deps.sh"), "Dockerfile: builder installs with scripts/install-deps.sh");
  check(/cmake --preset release/.test(builderRuns) &&
        /--target minimind-server minimind/.test(builderRuns), "Dockerfile: builds the release preset targets");
  const modelCopy = copies.find((c) => !c.from && c.sources.includes("models/minimind-serve-tiny"));
  if (check(modelCopy, "Dockerfile: copies models/minimind-serve-tiny")) result.modelDir = modelCopy.destination;

  const runtimeOf = (name) => runtime.instructions.filter((i) => i.instruction === name).map((i) => i.argument);
  const user = runtimeOf("USER").at(-1) ?? "";
  result.uid = Number(user.split(":")[0]);
  check(result.uid === 10001, `Dockerfile: runtime USER 10001 (got ${user})`);
  const exposed = runtimeOf("EXPOSE").join(" ").split(/\s+/);
  check(exposed.includes("50051") && exposed.includes("9090"), "Dockerfile: EXPOSE 50051 9090");
  check(runtimeOf("STOPSIGNAL").at(-1) === "SIGTERM", "Dockerfile: STOPSIGNAL SIGTERM");
  let entrypoint = [];
  try { entrypoint = JSON.parse(runtimeOf("ENTRYPOINT").at(-1) ?? "[]"); } catch { /* checked below */ }
  check(entrypoint[0] === serverCopy?.destination, "Dockerfile: exec-form ENTRYPOINT is the copied server");
  const env = Object.fromEntries(runtimeOf("ENV").join(" ").split(/\s+/).filter((p) => p.includes("="))
    .map((p) => p.split(/=(.*)/s).slice(0, 2)));
  check(env.MINIMIND_MODEL === result.modelDir, "Dockerfile: MINIMIND_MODEL is the copied model");
  check(env.MINIMIND_LISTEN === "0.0.0.0:50051", "Dockerfile: MINIMIND_LISTEN=0.0.0.0:50051");
  check(env.MINIMIND_METRICS_LISTEN === "0.0.0.0:9090", "Dockerfile: MINIMIND_METRICS_LISTEN=0.0.0.0:9090");

  const install = runtimeOf("RUN").join(" ");
  const packages = (/apt-get install (.*?)(&&|$)/.exec(install)?.[1] ?? "").split(/\s+/)
    .filter((p) => p && !p.startsWith("-"));
  check(packages.length > 0, "Dockerfile: the runtime stage installs packages");
  check(!packages.some((p) => p.endsWith("-dev")), "Dockerfile: no -dev package in the runtime stage");
  if (!which("apt-cache")) {
    console.log("note: apt-cache not found; runtime packages not checked against the apt index");
    return result;
  }
  const shown = spawnSync("apt-cache", ["show", "--no-all-versions", ...packages], { encoding: "utf8" });
  const known = new Set([...shown.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
  for (const name of packages) {
    check(known.has(name), `Dockerfile: runtime package ${name} is not in the apt index`);
  }
  checkLibraryCoverage(packages, [args.server, args.cli].filter(Boolean));
  return result;
}

// Every shared library the built binaries load must come from a runtime package or its dependencies.
function checkLibraryCoverage(packages, binaries) {
  binaries = binaries.filter((b) => fs.existsSync(b));
  if (!binaries.length || !which("ldd") || !which("dpkg")) {
    console.log("note: no built binaries (or ldd/dpkg) given; shared-library coverage not checked");
    return;
  }
  const closure = new Set(packages);
  const depends = spawnSync("apt-cache", ["depends", "--recurse", "--no-recommends", "--no-suggests",
    "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...packages], { encoding: "utf8" });
  for (const line of depends.stdout.split("\n")) {
    const match = /^\s*(?:\|?(?:Pre)?Depends: )?<?([a-z0-9][a-z0-9+.-]*)>?(?::\w+)?\s*$/.exec(line);
    if (match) closure.add(match[1]);
  }
  // library -> the binaries that need it; one dpkg -S for all of them.
  const neededBy = new Map();
  for (const binary of binaries) {
    const ldd = spawnSync("ldd", [binary], { encoding: "utf8" });
    for (const match of ldd.stdout.matchAll(/=>\s+(\/\S+)/g)) {
      const library = fs.realpathSync(match[1]);
      neededBy.set(library, [...(neededBy.get(library) ?? []), path.basename(binary)]);
    }
  }
  // dpkg knows a file by the path its package ships (/usr/lib/... or /lib/... before usrmerge).
  const candidates = [...neededBy.keys()].flatMap((l) => [l, l.replace(/^\/usr\/lib\//, "/lib/")]);
  const owners = new Map();
  const found = spawnSync("dpkg", ["-S", ...new Set(candidates)], { encoding: "utf8" });
  for (const line of found.stdout.split("\n")) {
    const match = /^([^:,\s]+)(?::[a-z0-9]+)?: (\S+)$/.exec(line);
    if (match) owners.set(match[2].replace(/^\/lib\//, "/usr/lib/"), match[1]);
  }
  let libraries = 0;
  for (const [library, users] of neededBy) {
    const owner = owners.get(library.replace(/^\/lib\//, "/usr/lib/"));
    if (!owner) {
      console.log(`note: ${library} (needed by ${users}) belongs to no package`);
      continue;
    }
    libraries += 1;
    check(closure.has(owner), `Dockerfile: ${users} need ${path.basename(library)} from ${owner}, ` +
          "which no runtime package brings");
  }
  console.log(`Dockerfile: the ${libraries} shared libraries of ${binaries.map((b) => path.basename(b))} ` +
              `checked against ${closure.size} packages the runtime stage installs`);
}

// ---------------------------------------------------------------------------------------------
// Grafana

function checkDashboard(repo) {
  const file = path.join(repo, "deploy/grafana/minimind-dashboard.json");
  let dashboard;
  try {
    dashboard = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    check(false, `dashboard: ${error.message}`);
    return;
  }
  check(dashboard.__inputs?.some((i) => i.name === "DS_PROMETHEUS" && i.pluginId === "prometheus"),
        "dashboard: __inputs must declare DS_PROMETHEUS (importable)");
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  const known = new Set([
    ...METRICS.counter, ...METRICS.gauge,
    ...METRICS.histogram.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
  ]);
  const used = new Set();
  for (const panel of panels.filter((p) => p.type !== "row")) {
    check(panel.datasource?.uid === "${DS_PROMETHEUS}", `dashboard: panel "${panel.title}" datasource`);
    check(panel.targets?.length, `dashboard: panel "${panel.title}" has no query`);
    for (const target of panel.targets ?? []) {
      for (const [name] of String(target.expr).matchAll(/\bminimind_[a-z0-9_]+/g)) {
        used.add(name);
        check(known.has(name), `dashboard: panel "${panel.title}" uses unknown metric ${name}`);
      }
      for (const counter of METRICS.counter) {
        if (String(target.expr).includes(counter)) {
          check(new RegExp(`(rate|increase)\\(${counter}[{\\[]`).test(target.expr),
                `dashboard: counter ${counter} must be used through rate()/increase()`);
        }
      }
    }
  }
  for (const histogram of METRICS.histogram.filter((h) => h !== "minimind_request_queue_time_seconds")) {
    check(used.has(`${histogram}_bucket`), `dashboard: no quantile panel for ${histogram}`);
  }
  for (const name of ["minimind_request_finished_total", "minimind_grpc_requests_total",
                      "minimind_prefix_cache_hits_total", "minimind_session_cache_hits_total",
                      "minimind_kv_blocks_used", "minimind_num_requests_waiting", "minimind_sessions_active"]) {
    check(used.has(name), `dashboard: ${name} is not shown`);
  }
}

// ---------------------------------------------------------------------------------------------

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.kubectl.length) {
    const kubectl = which("kubectl");
    if (!kubectl) skip("kubectl not found (Debian: kubernetes-client; scripts/install-deps.sh installs it)");
    args.kubectl.push(kubectl);
  }
  const docEnv = new Set([...fs.readFileSync(path.join(args.repo, "docs/service.md"), "utf8")
    .matchAll(/`(MINIMIND_[A-Z0-9_]+)`/g)].map((m) => m[1]));

  for (const key of PENDING_ENV) {
    if (!docEnv.has(key)) console.log(`note: ${key} is set but docs/service.md does not list it yet`);
  }

  const dockerfile = checkDockerfile(args.repo, args);
  checkNginxLoopback(args.repo);
  checkDashboard(args.repo);

  const targets = ["base", "overlays/single", "overlays/replicated"];
  const renderedBy = {};
  for (const kubectl of args.kubectl) {
    const version = execFileSync(kubectl, ["version", "--client"], { encoding: "utf8" }).split("\n")[0];
    console.log(`${kubectl}: ${version}`);
    for (const target of targets) {
      const dir = path.join(args.repo, "deploy/k8s", target);
      const where = `${target} (${path.basename(kubectl)} ${version.match(/v?\d+\.\d+\.\d+/)?.[0] ?? ""})`;
      const objects = render(kubectl, dir);
      if (!objects.length) continue;
      validateSchemas(objects, where);
      const server = checkServer(objects, where, docEnv, dockerfile);
      if (server && target === "overlays/single") checkSingle(objects, server, where);
      if (server && target === "overlays/replicated") checkReplicated(objects, server, where);
      (renderedBy[target] ??= []).push({ kubectl, text: normalized(objects) });
    }
  }
  for (const [target, renders] of Object.entries(renderedBy)) {
    for (const other of renders.slice(1)) {
      check(other.text === renders[0].text,
            `${target}: ${renders[0].kubectl} and ${other.kubectl} render different objects`);
    }
  }

  for (const failure of failures) console.log(`FAIL: ${failure}`);
  console.log(`${checks - failures.length}/${checks} checks passed`);
  process.exit(failures.length ? 1 : 0);
}

main();
