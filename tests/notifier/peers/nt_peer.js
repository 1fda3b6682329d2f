// nt_peer.js - loopback peer for the notifier output tests (owner:
// notifier outputs).  Started through tests/aws/aws_test_peer.c: prints
// "READY <port>" once it listens on 127.0.0.1, exits when stdin closes.
//
// It plays:
//   Security Hub    POST /findings/import            (SigV4, service securityhub)
//   CloudWatch Logs POST / X-Amz-Target Logs_20140328.*  (SigV4, service logs)
//   STS             POST / Action=GetCallerIdentity  (SigV4, service sts)
//   webhook         POST /hook    (Falco JSON, or an array of them)
//   HTTP backend    POST /events  (bearer token "tg-token" required)
// Every AWS request's signature is checked with AWS's own
// @smithy/signature-v4 (installed in tests/peers by the AWS part); a bad
// one gets 403 and is counted.  The documented limits are enforced the way
// AWS does (400 InvalidInputException / InvalidParameterException, or a
// per-finding FailedFindings entry) and every breach is recorded, so the
// tests can assert that none happened.
//
// Control (unsigned): POST /_ctl with JSON
//   {"fail": n, "status": 503, "type": "ThrottlingException", "retry_after": "1"}
//       the next n requests to any service route fail that way;
//   {"partial": ["id", ...], "code": "InternalException"}
//       the next import lists these finding ids in FailedFindings;
//   {"reset": true}
// GET /_log returns {requests:[...], violations:[...], sigfail:n}.
'use strict';
const http = require('http');
const path = require('path');
const { createRequire } = require('module');
const peerRequire = createRequire(path.join(__dirname, '..', '..', 'peers', 'package.json'));
const { SignatureV4 } = peerRequire('@smithy/signature-v4');
const { Sha256 } = peerRequire('@aws-crypto/sha256-js');

const KEYS = { AKIDNTTEST: 'ntTestSecret/0123456789abcdefghijklmnop' };
const ACCOUNT = '111122223333';
const LABELS = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const NAMESPACES = ['Software and Configuration Checks', 'TTPs', 'Effects',
  'Unusual Behaviors', 'Sensitive Data Identifications'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let state;
function reset() {
  state = { requests: [], violations: [], sigfail: 0, fail: null, partial: null,
    groups: new Set(), streams: new Set() };
}
reset();

function parseAuth(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(h || '');
  return m && { akid: m[1], region: m[3], service: m[4], signed: m[5].split(';') };
}

async function verify(req, body, service) {
  const a = parseAuth(req.headers.authorization);
  if (!a) return 'malformed or missing Authorization';
  if (a.service !== service) return `signed for ${a.service}, expected ${service}`;
  const secret = KEYS[a.akid];
  if (!secret) return 'unknown access key';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(req.headers['x-amz-date'] || '');
  if (!m) return 'missing x-amz-date';
  const when = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  if (Math.abs(Date.now() - when) > 15 * 60 * 1000) return 'time skew';
  for (const n of Object.keys(req.headers))
    if ((n.startsWith('x-amz-') || n === 'content-type' || n === 'host') && !a.signed.includes(n))
      return n + ' not signed';
  const headers = {};
  for (const n of a.signed) {
    if (req.headers[n] === undefined) return 'signed header missing: ' + n;
    headers[n] = req.headers[n];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: a.akid, secretAccessKey: secret,
      sessionToken: req.headers['x-amz-security-token'] },
    region: a.region, service: a.service, sha256: Sha256,
    uriEscapePath: true, applyChecksum: false,
  });
  const q = req.url.indexOf('?');
  const signed = await signer.sign({ method: req.method, protocol: 'http:',
    hostname: req.headers.host, path: q < 0 ? req.url : req.url.slice(0, q),
    query: {}, headers, body: body.length ? body : undefined }, { signingDate: when });
  return signed.headers.authorization === req.headers.authorization ? null : 'signature mismatch';
}

function send(res, code, obj, extra) {
  const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(code, Object.assign({ 'content-type': 'application/json',
    'content-length': Buffer.byteLength(text) }, extra || {}));
  res.end(text);
}

function violation(route, what) {
  state.violations.push(route + ': ' + what);
}

// A queued failure, if any: answers and returns true.
function injected(res, rec) {
  const f = state.fail;
  if (!f || f.n <= 0) return false;
  f.n--;
  rec.status = f.status || 503;
  rec.injected = true;
  const extra = f.retry_after ? { 'retry-after': String(f.retry_after) } : {};
  if (f.type) extra['x-amzn-errortype'] = f.type;
  send(res, rec.status, { __type: f.type || 'ServiceUnavailableException', message: 'injected' }, extra);
  return true;
}

function checkFinding(f) {
  const bad = [];
  const size = Buffer.byteLength(JSON.stringify(f));
  if (size > 240 * 1024) bad.push(`finding is ${size} bytes`);
  if (f.SchemaVersion !== '2018-10-08') bad.push('SchemaVersion');
  if (typeof f.Id !== 'string' || !f.Id || f.Id.length > 512) bad.push('Id');
  if (!/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/.test(f.ProductArn || '')) bad.push('ProductArn');
  if (typeof f.GeneratorId !== 'string' || !f.GeneratorId) bad.push('GeneratorId');
  if (!/^\d{12}$/.test(f.AwsAccountId || '')) bad.push('AwsAccountId');
  if (!Array.isArray(f.Types) || !f.Types.length ||
      !f.Types.every(t => NAMESPACES.includes(String(t).split('/')[0]))) bad.push('Types');
  if (!ISO.test(f.CreatedAt || '') || !ISO.test(f.UpdatedAt || '')) bad.push('CreatedAt/UpdatedAt');
  if (!f.Severity || !LABELS.has(f.Severity.Label)) bad.push('Severity.Label');
  if (typeof f.Title !== 'string' || !f.Title || [...f.Title].length > 256) bad.push('Title');
  if (typeof f.Description !== 'string' || !f.Description || [...f.Description].length > 1024) bad.push('Description');
  if (!Array.isArray(f.Resources) || f.Resources.length < 1 || f.Resources.length > 32 ||
      !f.Resources.every(r => r && r.Type && r.Id)) bad.push('Resources');
  return bad;
}

function securityhub(req, res, body, rec) {
  let doc;
  try { doc = JSON.parse(body); } catch (e) { violation('securityhub', 'bad JSON'); return send(res, 400, { __type: 'InvalidInputException' }); }
  const fs = doc.Findings;
  rec.count = Array.isArray(fs) ? fs.length : 0;
  rec.ids = Array.isArray(fs) ? fs.map(f => f.Id) : [];
  rec.bytes = body.length;
  if (!Array.isArray(fs) || fs.length < 1 || fs.length > 100) { violation('securityhub', `batch of ${rec.count}`); rec.status = 400; return send(res, 400, { __type: 'InvalidInputException', message: 'Findings' }); }
  if (body.length > 6 * 1024 * 1024) { violation('securityhub', `request of ${body.length} bytes`); rec.status = 400; return send(res, 400, { __type: 'InvalidInputException' }); }
  if (injected(res, rec)) return;
  const failed = [];
  rec.findings = [];
  for (const f of fs) {
    const bad = checkFinding(f);
    rec.findings.push({ Id: f.Id, size: Buffer.byteLength(JSON.stringify(f)), Title: f.Title,
      Description: f.Description, Label: f.Severity && f.Severity.Label, Types: f.Types,
      Resources: (f.Resources || []).map(r => r.Type + ' ' + r.Id), AwsAccountId: f.AwsAccountId,
      ProductArn: f.ProductArn, ProductFields: f.ProductFields, GeneratorId: f.GeneratorId });
    if (bad.length) {
      violation('securityhub', `finding ${f.Id}: ${bad.join(', ')}`);
      failed.push({ Id: f.Id, ErrorCode: 'InvalidInput', ErrorMessage: bad.join(', ') });
    } else if (state.partial && state.partial.ids.includes(f.Id)) {
      failed.push({ Id: f.Id, ErrorCode: state.partial.code, ErrorMessage: 'injected' });
    }
  }
  state.partial = null;
  rec.failed = failed.map(x => x.Id);
  rec.status = 200;
  send(res, 200, { FailedCount: failed.length, SuccessCount: fs.length - failed.length, FailedFindings: failed });
}

function logs(req, res, body, rec) {
  const target = req.headers['x-amz-target'] || '';
  const op = target.replace(/^Logs_20140328\./, '');
  rec.op = op;
  let doc;
  try { doc = JSON.parse(body); } catch (e) { violation('logs', 'bad JSON'); return send(res, 400, { __type: 'InvalidParameterException' }); }
  if (req.headers['content-type'] !== 'application/x-amz-json-1.1') violation('logs', 'content-type ' + req.headers['content-type']);
  const g = doc.logGroupName, s = g + '\u0000' + doc.logStreamName;
  if (op === 'CreateLogGroup') {
    if (state.groups.has(g)) { rec.status = 400; return send(res, 400, { __type: 'ResourceAlreadyExistsException' }); }
    state.groups.add(g); rec.status = 200; return send(res, 200, {});
  }
  if (op === 'CreateLogStream') {
    if (!state.groups.has(g)) { rec.status = 400; return send(res, 400, { __type: 'ResourceNotFoundException' }); }
    if (state.streams.has(s)) { rec.status = 400; return send(res, 400, { __type: 'ResourceAlreadyExistsException' }); }
    state.streams.add(s); rec.status = 200; return send(res, 200, {});
  }
  if (op !== 'PutLogEvents') { rec.status = 400; return send(res, 400, { __type: 'UnknownOperationException' }); }
  const ev = doc.logEvents;
  rec.count = Array.isArray(ev) ? ev.length : 0;
  if (!state.streams.has(s)) { rec.status = 400; return send(res, 400, { __type: 'ResourceNotFoundException', message: 'The specified log stream does not exist.' }); }
  if (injected(res, rec)) return;
  const fail = (what) => { violation('logs', what); rec.status = 400; send(res, 400, { __type: 'InvalidParameterException', message: what }); };
  if (!Array.isArray(ev) || ev.length < 1 || ev.length > 10000) return fail(`batch of ${rec.count} events`);
  let bytes = 0;
  for (let i = 0; i < ev.length; i++) {
    if (typeof ev[i].message !== 'string' || !Number.isInteger(ev[i].timestamp)) return fail('event ' + i + ' malformed');
    bytes += Buffer.byteLength(ev[i].message) + 26;
    if (i && ev[i].timestamp < ev[i - 1].timestamp) return fail('events not in chronological order');
  }
  rec.bytes = bytes;
  if (bytes > 1048576) return fail(`batch of ${bytes} bytes`);
  if (ev[ev.length - 1].timestamp - ev[0].timestamp > 24 * 3600 * 1000) return fail('batch spans more than 24 h');
  rec.first = ev[0].timestamp;
  rec.last = ev[ev.length - 1].timestamp;
  rec.messages = ev.length <= 50 ? ev.map(e => e.message) : undefined;
  const tooOld = Date.now() - 14 * 24 * 3600 * 1000;
  let oldEnd = 0;
  while (oldEnd < ev.length && ev[oldEnd].timestamp < tooOld) oldEnd++;
  rec.status = 200;
  rec.accepted = ev.length - oldEnd;
  const out = { nextSequenceToken: '1' };
  if (oldEnd) out.rejectedLogEventsInfo = { tooOldLogEventEndIndex: oldEnd };
  send(res, 200, out);
}

function sts(req, res, body, rec) {
  rec.op = 'GetCallerIdentity';
  if (!/Action=GetCallerIdentity/.test(body)) { rec.status = 400; return send(res, 400, 'bad'); }
  rec.status = 200;
  res.writeHead(200, { 'content-type': 'text/xml' });
  res.end(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/nt</Arn><UserId>AIDANT</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`);
}

function plain(req, res, body, rec, route) {
  if (route === 'events' && req.headers.authorization !== 'Bearer tg-token') {
    violation(route, 'bad Authorization ' + req.headers.authorization);
    rec.status = 401; return send(res, 401, { error: 'unauthorized' });
  }
  if (!/^application\/json/.test(req.headers['content-type'] || '')) violation(route, 'content-type');
  if (injected(res, rec)) return;
  let doc;
  try { doc = JSON.parse(body); } catch (e) { violation(route, 'bad JSON'); rec.status = 400; return send(res, 400, {}); }
  rec.body = doc;
  rec.headers = { 'x-test': req.headers['x-test'], authorization: req.headers.authorization };
  rec.status = 200;
  send(res, 200, {});
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const url = req.url;
    if (url === '/_log') return send(res, 200, { requests: state.requests, violations: state.violations, sigfail: state.sigfail });
    if (url === '/_ctl') {
      const c = JSON.parse(body || '{}');
      if (c.reset) reset();
      if (c.fail !== undefined) state.fail = { n: c.fail, status: c.status, type: c.type, retry_after: c.retry_after };
      if (c.partial) state.partial = { ids: c.partial, code: c.code || 'InternalException' };
      return send(res, 200, {});
    }
    let route, service;
    if (url === '/findings/import') { route = 'securityhub'; service = 'securityhub'; }
    else if (url === '/' && req.headers['x-amz-target']) { route = 'logs'; service = 'logs'; }
    else if (url === '/' && /Action=/.test(body)) { route = 'sts'; service = 'sts'; }
    else if (url === '/hook') route = 'hook';
    else if (url === '/events') route = 'events';
    else return send(res, 404, {});
    const rec = { route, t: Date.now() };
    state.requests.push(rec);
    if (service) {
      const why = await verify(req, body, service);
      if (why) {
        state.sigfail++;
        violation(route, 'signature: ' + why);
        rec.status = 403;
        return send(res, 403, { __type: 'InvalidSignatureException', message: why });
      }
    }
    if (route === 'securityhub') return securityhub(req, res, body, rec);
    if (route === 'logs') return logs(req, res, body, rec);
    if (route === 'sts') return sts(req, res, body, rec);
    return plain(req, res, body, rec, route);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
