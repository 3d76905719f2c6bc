// The iam-simulate side of benches/process.rs: reads the same JSONL stream of DESIGN §7 cases
// that `mrap-auditor eval --jsonl` reads, runs each through `runSimulation` of
// @cloud-copilot/iam-simulate, and writes one `{"decision": ...}` line per case in mrap-auditor's
// vocabulary, so that the two outputs can be compared line by line.
//
// Usage: node benches/iam_simulate_jsonl.mjs PATH/TO/iam-simulate/dist/esm/index.js CASES.jsonl
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [modulePath, streamPath] = process.argv.slice(2);
const { runSimulation } = await import(pathToFileURL(modulePath).href);

const named = (prefix, list) => (list ?? []).map((policy, i) => ({ name: `${prefix}${i}`, policy }));
const levels = (prefix, list) =>
  (list ?? []).map((level, i) => ({ orgIdentifier: `${prefix}${i}`, policies: named(`${prefix}${i}-`, level) }));
// iam-simulate attaches AWS's managed RCPFullAWSAccess itself and refuses customer RCP statements
// that Allow or use `Action: "*"`, so the stream's copy of that statement is left out for it.
const withoutFullAccess = (policy) => {
  const statements = [].concat(policy.Statement ?? []).filter((s) => s.Sid !== 'RCPFullAWSAccess');
  return { ...policy, Statement: statements };
};
const names = { Allowed: 'Allow', ImplicitlyDenied: 'ImplicitDeny', ExplicitlyDenied: 'ExplicitDeny' };

const out = [];
const lines = createInterface({ input: createReadStream(streamPath), crlfDelay: Infinity });
for await (const line of lines) {
  const { request, policies } = JSON.parse(line);
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resource_account },
      contextVariables: request.context ?? {},
    },
    identityPolicies: named('identity', policies.identity),
    serviceControlPolicies: levels('scp', policies.scp),
    resourceControlPolicies: levels('rcp', (policies.rcp ?? []).map((level) => level.map(withoutFullAccess))),
    resourcePolicy: policies.resource ?? undefined,
    vpcEndpointPolicies: named('vpce', policies.vpce),
  };
  const result = await runSimulation(simulation, {});
  out.push(
    result.resultType === 'error'
      ? JSON.stringify({ error: result.errors.message })
      : JSON.stringify({ decision: names[result.overallResult] ?? result.overallResult }),
  );
  if (out.length >= 4096) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
