// aws_peer.js - loopback AWS test peer for tests/aws (owner: AWS ingestion).
//
// One node process per test.  It prints "READY <port>" on stdout once it
// listens on 127.0.0.1 and exits when stdin closes (so a crashed test
// never leaves it behind).  Every request that carries an AWS4-HMAC-SHA256
// Authorization header is verified with the independent @smithy/signature-v4
// implementation; a bad signature is answered 403 and counted.  With
// --verify-all unsigned requests are rejected too.  With --upstream URL
// verified requests are proxied to an emulator (fauxqs, s3rver).
//
// Without --upstream it also plays the credential endpoints the chain
// talks to: STS (AssumeRoleWithWebIdentity, AssumeRole), EC2 IMDSv2 and the
// ECS container endpoint, plus a few test routes (/echo, /big, /slow,
// /status, /__stats, /__log: the request log).
'use strict';
const http = require('http');
const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const verifyAll = args.includes('--verify-all');
let upstream = opt('--upstream', null);
const withS3rver = args.includes('--s3rver');
const withFauxqs = args.includes('--fauxqs');
let fauxqs = null;
// "bucket:region,..." - buckets that answer 301 + x-amz-bucket-region when
// a request is signed for another region (S3 region discovery).
const bucketRegions = new Map((process.env.TG_PEER_BUCKET_REGIONS || '').split(',')
  .filter(Boolean).map((kv) => kv.split(':')));
const maxSkewS = 15 * 60;

const keys = new Map();
for (const kv of (process.env.TG_PEER_KEYS || 'AKIDTGTEST:tgTestSecretKey/0123456789+abcdefghij').split(',')) {
  const i = kv.indexOf(':');
  if (i > 0) keys.set(kv.slice(0, i), kv.slice(i + 1));
}
// Every request but the /__ routes, "METHOD URL [X-Amz-Target]" (GET /__log).
const reqlog = [];
const stats = { verified: 0, rejected: 0, unsigned: 0, sts: 0, imds: 0, ecs: 0, tokens: [] };
const expirySec = parseInt(process.env.TG_PEER_EXPIRY_S || '3600', 10);
let issued = 0;

function issueCreds() {
  issued++;
  const id = 'ASIATGPEER' + String(issued).padStart(6, '0');
  const secret = crypto.randomBytes(20).toString('base64');
  const token = 'tok-' + crypto.randomBytes(16).toString('hex');
  keys.set(id, secret);
  const exp = new Date(Date.now() + expirySec * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  return { id, secret, token, exp };
}

function parseAuth(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(h || '');
  if (!m) return null;
  return { akid: m[1], date: m[2], region: m[3], service: m[4], signed: m[5].split(';'), sig: m[6] };
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// Returns null when the signature is good, else a reason.
async function verify(req, body) {
  const a = parseAuth(req.headers['authorization']);
  if (!a) return 'malformed Authorization';
  const secret = keys.get(a.akid);
  if (!secret) return 'unknown access key';
  const when = parseAmzDate(req.headers['x-amz-date']);
  if (!when) return 'missing x-amz-date';
  if (Math.abs(Date.now() - when.getTime()) > maxSkewS * 1000) return 'request time skewed';
  for (const must of ['host', 'x-amz-date'])
    if (!a.signed.includes(must)) return must + ' not signed';
  for (const name of Object.keys(req.headers))
    if ((name.startsWith('x-amz-') || name === 'content-type') && !a.signed.includes(name))
      return name + ' present but not signed';
  const token = req.headers['x-amz-security-token'];
  const s3 = a.service === 's3';
  const headers = {};
  for (const name of a.signed) {
    if (req.headers[name] === undefined) return 'signed header missing: ' + name;
    headers[name] = req.headers[name];
  }
  const pathEnd = req.url.indexOf('?');
  const path = pathEnd < 0 ? req.url : req.url.slice(0, pathEnd);
  const query = {};
  if (pathEnd >= 0) {
    for (const part of req.url.slice(pathEnd + 1).split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      if (query[k] === undefined) query[k] = v;
      else if (Array.isArray(query[k])) query[k].push(v);
      else query[k] = [query[k], v];
    }
  }
  const declared = req.headers['x-amz-content-sha256'];
  if (declared && declared !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (actual !== declared) return 'x-amz-content-sha256 does not match body';
  }
  if (s3 && !declared) return 's3 request without x-amz-content-sha256';
  const signer = new SignatureV4({
    credentials: { accessKeyId: a.akid, secretAccessKey: secret, sessionToken: a.signed.includes('x-amz-security-token') ? token : undefined },
    region: a.region, service: a.service, sha256: Sha256,
    uriEscapePath: !s3, applyChecksum: a.signed.includes('x-amz-content-sha256'),
  });
  const signed = await signer.sign({
    method: req.method, protocol: 'http:', hostname: req.headers['host'],
    path, query, headers, body: body.length ? body : undefined,
  }, { signingDate: when });
  const got = req.headers['authorization'];
  if (signed.headers['authorization'] !== got) return 'signature mismatch';
  return null;
}

function reply(res, code, type, text, extra) {
  res.writeHead(code, Object.assign({ 'content-type': type, 'content-length': Buffer.byteLength(text) }, extra || {}));
  res.end(text);
}

function stsXml(action, c) {
  return `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
    `<Credentials><AccessKeyId>${c.id}</AccessKeyId><SecretAccessKey>${c.secret}</SecretAccessKey>` +
    `<SessionToken>${c.token}</SessionToken><Expiration>${c.exp}</Expiration></Credentials>` +
    `</${action}Result></${action}Response>`;
}

let imdsToken = null;
function builtin(req, res, body, signedOk) {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  if (p === '/__stats') return reply(res, 200, 'application/json', JSON.stringify(stats));
  for (const kv of (process.env.TG_PEER_STATIC || '').split(',').filter(Boolean)) {
    const [route, file] = kv.split('=');
    if (p === route) return reply(res, 200, 'application/x-pem-file', fs.readFileSync(file, 'utf8'));
  }
  if (p === '/confirm') {   // SNS SubscribeURL stand-in
    stats.confirms = (stats.confirms || 0) + 1;
    return reply(res, 200, 'text/xml', '<ConfirmSubscriptionResponse/>');
  }
  if (p === '/echo')
    return reply(res, 200, 'application/json', JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('latin1'), signed: signedOk }));
  if (p === '/big') return reply(res, 200, 'application/octet-stream', 'x'.repeat(parseInt(u.searchParams.get('n') || '0', 10)));
  if (p === '/slow') { setTimeout(() => reply(res, 200, 'text/plain', 'slow'), parseInt(u.searchParams.get('ms') || '0', 10)); return; }
  if (p === '/status') return reply(res, parseInt(u.searchParams.get('code') || '200', 10), 'text/plain', 'status', { 'x-test-header': 'yes' });
  // EC2 IMDSv2
  if (p === '/latest/api/token') {
    if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return reply(res, 400, 'text/plain', 'bad token request');
    imdsToken = 'imds-' + crypto.randomBytes(8).toString('hex');
    return reply(res, 200, 'text/plain', imdsToken);
  }
  if (p.startsWith('/latest/meta-data/')) {
    if (!imdsToken || req.headers['x-aws-ec2-metadata-token'] !== imdsToken) return reply(res, 401, 'text/plain', 'unauthorized');
    if (p === '/latest/meta-data/placement/region') return reply(res, 200, 'text/plain', 'us-west-2');
    if (p === '/latest/meta-data/iam/security-credentials/') return reply(res, 200, 'text/plain', 'tg-role');
    if (p === '/latest/meta-data/iam/security-credentials/tg-role') {
      stats.imds++;
      const c = issueCreds();
      return reply(res, 200, 'application/json', JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: c.id, SecretAccessKey: c.secret, Token: c.token, Expiration: c.exp, LastUpdated: c.exp }));
    }
    return reply(res, 404, 'text/plain', 'not found');
  }
  // ECS container credentials
  if (p === '/ecs/creds') {
    const want = process.env.TG_PEER_ECS_TOKEN;
    if (want && req.headers['authorization'] !== want) return reply(res, 401, 'text/plain', 'unauthorized');
    stats.ecs++;
    const c = issueCreds();
    return reply(res, 200, 'application/json', JSON.stringify({ AccessKeyId: c.id, SecretAccessKey: c.secret, Token: c.token, Expiration: c.exp, RoleArn: 'arn:aws:iam::111122223333:role/tg' }));
  }
  // STS (form-encoded query protocol)
  if (p === '/' && req.method === 'POST') {
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action');
    if (action === 'AssumeRoleWithWebIdentity') {
      const want = process.env.TG_PEER_WEB_TOKEN;
      if (!form.get('RoleArn') || !form.get('RoleSessionName') || (want && form.get('WebIdentityToken') !== want))
        return reply(res, 403, 'text/xml', '<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>');
      stats.sts++;
      stats.tokens.push(form.get('WebIdentityToken'));
      return reply(res, 200, 'text/xml', stsXml(action, issueCreds()));
    }
    if (action === 'AssumeRole') {
      if (!signedOk) return reply(res, 403, 'text/xml', '<ErrorResponse><Error><Code>MissingAuthenticationToken</Code></Error></ErrorResponse>');
      stats.sts++;
      return reply(res, 200, 'text/xml', stsXml(action, issueCreds()));
    }
  }
  return reply(res, 404, 'text/plain', 'no route');
}

function proxy(req, res, body) {
  const up = new URL(upstream);
  // Keep Host: it is signed and s3rver checks the signature too.
  const headers = Object.assign({}, req.headers);
  // stats.pending: proxied requests the upstream has not answered yet (a
  // long poll outlives a client that went away; tests wait for 0).
  stats.pending = (stats.pending || 0) + 1;
  let settled = false;
  const settle = () => { if (!settled) { settled = true; stats.pending--; } };
  const r = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (ur) => {
    settle();
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  r.on('error', (e) => { settle(); reply(res, 502, 'text/plain', 'upstream: ' + e.message); });
  r.end(body);
}

const tlsCert = opt('--tls-cert', null), tlsKey = opt('--tls-key', null);
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/__stats') return reply(res, 200, 'application/json', JSON.stringify(stats));
    if (req.url === '/__log') return reply(res, 200, 'application/json', JSON.stringify(reqlog));
    reqlog.push(req.method + ' ' + req.url + (req.headers['x-amz-target'] ? ' ' + req.headers['x-amz-target'] : ''));
    if (fauxqs && req.url.startsWith('/__queue/')) {
      const q = fauxqs.inspectQueue(decodeURIComponent(req.url.slice(9)));
      return q ? reply(res, 200, 'application/json', JSON.stringify(q)) : reply(res, 404, 'text/plain', 'no queue');
    }
    let signedOk = false;
    if (req.headers['authorization'] && req.headers['authorization'].startsWith('AWS4-HMAC-SHA256')) {
      let why;
      try { why = await verify(req, body); } catch (e) { why = 'verifier error: ' + e.message; }
      if (why) {
        stats.rejected++;
        process.stderr.write(`aws_peer: rejected ${req.method} ${req.url}: ${why}\n`);
        return reply(res, 403, 'application/xml', `<Error><Code>SignatureDoesNotMatch</Code><Message>${why}</Message></Error>`);
      }
      stats.verified++;
      signedOk = true;
    } else {
      stats.unsigned++;
      if (verifyAll) return reply(res, 403, 'application/xml', '<Error><Code>MissingAuthenticationToken</Code></Error>');
    }
    const target = req.headers['x-amz-target'] || '';
    if (signedOk && target.endsWith('.ListPublicKeys') && process.env.TG_PEER_PUBKEYS) {
      // CloudTrail ListPublicKeys (JSON 1.1) for digest validation tests
      stats.listPublicKeys = (stats.listPublicKeys || 0) + 1;
      return reply(res, 200, 'application/x-amz-json-1.1', fs.readFileSync(process.env.TG_PEER_PUBKEYS, 'utf8'));
    }
    if (bucketRegions.size) {
      const bucket = decodeURIComponent(req.url.split('?')[0].split('/')[1] || '');
      const want = bucketRegions.get(bucket);
      const a = parseAuth(req.headers['authorization']);
      if (want && a && a.region !== want) {
        stats.redirects = (stats.redirects || 0) + 1;
        return reply(res, 301, 'application/xml', `<Error><Code>PermanentRedirect</Code><Bucket>${bucket}</Bucket></Error>`, { 'x-amz-bucket-region': want });
      }
    }
    if (upstream) return proxy(req, res, body);
    builtin(req, res, body, signedOk);
  });
};
const fs = require('fs');
const server = tlsCert
  ? require('https').createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) }, handler)
  : http.createServer(handler);
async function main() {
  if (withFauxqs) {
    // fauxqs (SQS JSON protocol + S3) in-process behind the verifier.
    const { startFauxqs } = await import('fauxqs');
    fauxqs = await startFauxqs({ port: 0, logger: false });
    upstream = fauxqs.address;
    for (const q of (process.env.TG_PEER_QUEUES || '').split(',').filter(Boolean))
      fauxqs.createQueue(q, { attributes: { VisibilityTimeout: '30' } });
    for (const b of (process.env.TG_PEER_BUCKETS || '').split(',').filter(Boolean))
      fauxqs.createBucket(b);
  }
  if (withS3rver) {
    // In-process s3rver (a second, independent SigV4 checker) behind us.
    const S3rver = require('@20minutes/s3rver');
    const account = require('@20minutes/s3rver/lib/models/account');
    // s3rver 5.0.0 prunes directories below the first delimiter before it
    // has seen any object in them, so CommonPrefixes of nested keys come
    // back empty (real S3 returns them).  Compute them from a flat listing.
    const FsStore = require('@20minutes/s3rver/lib/stores/filesystem');
    const flatList = FsStore.prototype.listObjects;
    FsStore.prototype.listObjects = async function (bucket, options) {
      if (!options.delimiter) return flatList.call(this, bucket, options);
      const all = await flatList.call(this, bucket, Object.assign({}, options, { delimiter: '', maxKeys: Infinity }));
      const prefix = options.prefix || '';
      const common = new Set();
      const objects = [];
      for (const o of all.objects) {
        const i = o.key.slice(prefix.length).indexOf(options.delimiter);
        if (i !== -1) common.add(o.key.slice(0, prefix.length + i + options.delimiter.length));
        else objects.push(o);
      }
      const max = options.maxKeys === undefined ? Infinity : options.maxKeys;
      return { objects: objects.slice(0, max), commonPrefixes: [...common].sort(), isTruncated: objects.length > max };
    };
    for (const [id, secret] of keys) account.DUMMY_ACCOUNT.createKeyPair(id, secret);
    const os = require('os'), path = require('path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-s3rver-'));
    const buckets = (process.env.TG_PEER_BUCKETS || 'trail').split(',').map((name) => ({ name }));
    const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: buckets });
    const addr = await s3.run();
    upstream = `http://127.0.0.1:${addr.port}`;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  server.listen(parseInt(opt('--port', '0'), 10), '127.0.0.1', () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
}
main().catch((e) => { process.stderr.write('aws_peer: ' + e.stack + '\n'); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
