// sns_sender.js - builds signed SNS HTTP delivery messages for tests/aws
// (owner: AWS ingestion) and records what the independent npm
// sns-validator says about each.
//
// node sns_sender.js --out DIR --key KEY.pem --forged-key KEY2.pem
//      --cert-url URL --topic ARN --other-topic ARN --confirm-url URL
//      --key1 K --key2 K --key3 K --bucket B --host-re REGEX
// Writes DIR/<name>.json (the POST body), DIR/<name>.sts and DIR/<name>.sig
// (string to sign / raw signature, for `openssl dgst -verify`), and
// DIR/expect.json {name: true|false} from sns-validator.  Needs
// NODE_EXTRA_CA_CERTS to trust the loopback certificate server.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const MessageValidator = require('sns-validator');

const a = process.argv.slice(2);
const opt = (n) => { const i = a.indexOf(n); return i >= 0 ? a[i + 1] : undefined; };
const out = opt('--out');
const key = fs.readFileSync(opt('--key'), 'utf8');
const forgedKey = fs.readFileSync(opt('--forged-key'), 'utf8');
const certUrl = opt('--cert-url');
const topic = opt('--topic');
const bucket = opt('--bucket');

// AWS doc: "<Key>\n<Value>\n" in this exact order, present keys only.
function stringToSign(m) {
  const keys = m.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys.filter((k) => m[k] !== undefined).map((k) => `${k}\n${m[k]}\n`).join('');
}

function sign(m, k) {
  const alg = m.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256';
  const sts = stringToSign(m);
  const sig = crypto.createSign(alg).update(sts, 'utf8').sign(k);
  m.Signature = sig.toString('base64');
  return { sts, sig };
}

const now = new Date();
const iso = (d) => d.toISOString();
let n = 0;
function base(type, message, extra) {
  n++;
  return Object.assign({
    Type: type, MessageId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    TopicArn: topic, Message: message, Timestamp: iso(now), SignatureVersion: '2',
    SigningCertURL: certUrl,
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  }, extra || {});
}

const ct = (k) => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [k] });
const msgs = {};
const extras = {};
function add(name, m, k, after) {
  const { sts, sig } = sign(m, k || key);
  if (after) after(m);
  msgs[name] = m;
  extras[name] = { sts, sig };
}

add('good2', base('Notification', ct(opt('--key1'))));
add('good1', base('Notification', JSON.stringify({ Records: [{
  eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put',
  s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(opt('--key2')).replace(/%2F/g, '/').replace(/%20/g, '+'), eTag: 'abc' } } }] }),
  { SignatureVersion: '1', Subject: 'Amazon S3 Notification' }));
add('escaped', base('Notification', JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [opt('--key3')], note: 'é\t"q"' }, null, 2),
  { Subject: 'line1\nline2 \u00e9' }));
add('tampered', base('Notification', ct(opt('--key1'))), null,
  (m) => { m.Message = ct(opt('--key1').replace('.json.gz', '-evil.json.gz')); });
add('forged', base('Notification', ct(opt('--key1'))), forgedKey);
add('stale', base('Notification', ct(opt('--key1')), { Timestamp: iso(new Date(now - 2 * 3600 * 1000)) }));
add('topic', base('Notification', ct(opt('--key1')), { TopicArn: opt('--other-topic') }));
add('certurl', base('Notification', ct(opt('--key1')), { SigningCertURL: certUrl.replace('127.0.0.1', 'localhost') }));
add('subscribe', base('SubscriptionConfirmation', 'You have chosen to subscribe...',
  { SubscribeURL: opt('--confirm-url') + '?Action=ConfirmSubscription&Token=tok1', Token: 'tok1' }));
add('unsubscribe', base('UnsubscribeConfirmation', 'You have unsubscribed',
  { SubscribeURL: opt('--confirm-url') + '?Action=ConfirmSubscription&Token=tok2', Token: 'tok2' }));
add('testevent', base('Notification', JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket })));
add('digest', base('Notification', ct(opt('--key1').replace('/CloudTrail/', '/CloudTrail-Digest/'))));
// a new notification (new MessageId) for an object already processed
add('again', base('Notification', ct(opt('--key1'))));

fs.mkdirSync(out, { recursive: true });
for (const [name, m] of Object.entries(msgs)) {
  fs.writeFileSync(path.join(out, name + '.json'), JSON.stringify(m));
  fs.writeFileSync(path.join(out, name + '.sts'), extras[name].sts);
  fs.writeFileSync(path.join(out, name + '.sig'), extras[name].sig);
}
fs.writeFileSync(path.join(out, 'oversized.json'),
  JSON.stringify(base('Notification', 'x'.repeat(300 * 1024))));
fs.writeFileSync(path.join(out, 'malformed.json'), '{"Type": "Notification", ');

const validator = new MessageValidator(new RegExp(opt('--host-re')), 'utf8');
const expect = {};
const names = Object.keys(msgs);
let pending = names.length;
for (const name of names) {
  validator.validate(JSON.parse(JSON.stringify(msgs[name])), (err) => {
    expect[name] = !err;
    if (--pending === 0) {
      fs.writeFileSync(path.join(out, 'expect.json'), JSON.stringify(expect));
      process.stdout.write('OK ' + JSON.stringify(expect) + '\n');
    }
  });
}
