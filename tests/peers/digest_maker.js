// digest_maker.js - writes a signed chain of two CloudTrail digest files and
// their log files for tests/aws/test_aws_digest (owner: AWS ingestion).
// Independent of the C code: node's crypto/zlib, the signing string as
// AWS documents it ("Validating CloudTrail log file integrity with custom
// implementations").  node digest_maker.js DIR
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const zlib = require('zlib');

const dir = process.argv[2];
fs.mkdirSync(dir, { recursive: true });
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const bucket = 'trail';
const base = 'AWSLogs/111122223333';
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

function log(name, records) {
  const key = `${base}/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T18${name}Z_x.json.gz`;
  const body = Buffer.from(JSON.stringify({ Records: records }));
  fs.writeFileSync(path.join(dir, `log${name}.json.gz`), zlib.gzipSync(body));
  return { s3Bucket: bucket, s3Object: key, hashValue: sha(body), hashAlgorithm: 'SHA-256',
    newestEventTime: '2026-11-27T18:00:00Z', oldestEventTime: '2026-11-27T17:55:00Z' };
}

function digest(n, end, files, prev) {
  const object = `${base}/CloudTrail-Digest/us-east-1/2026/11/27/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261127T${end.replace(/[-:]/g, '').slice(9, 15)}Z.json.gz`;
  const doc = {
    awsAccountId: '111122223333', digestStartTime: '2026-11-27T17:00:00Z', digestEndTime: end,
    digestS3Bucket: bucket, digestS3Object: object,
    digestPublicKeyFingerprint: crypto.createHash('md5').update(publicKey.export({ type: 'pkcs1', format: 'der' })).digest('hex'),
    digestSignatureAlgorithm: 'SHA256withRSA',
    newestEventTime: '2026-11-27T18:00:00Z', oldestEventTime: '2026-11-27T17:00:00Z',
    previousDigestS3Bucket: prev ? bucket : null, previousDigestS3Object: prev ? prev.object : null,
    previousDigestHashValue: prev ? prev.hash : null, previousDigestHashAlgorithm: prev ? 'SHA-256' : null,
    previousDigestSignature: prev ? prev.sig : null,
    logFiles: files,
  };
  const inflated = Buffer.from(JSON.stringify(doc, null, 1));
  const sts = `${end}\n${bucket}/${object}\n${sha(inflated)}\n${prev ? prev.sig : 'null'}`;
  const sig = crypto.sign('sha256', Buffer.from(sts), privateKey);
  fs.writeFileSync(path.join(dir, `digest${n}.json.gz`), zlib.gzipSync(inflated));
  fs.writeFileSync(path.join(dir, `digest${n}.sts`), sts);
  fs.writeFileSync(path.join(dir, `digest${n}.sig`), sig.toString('hex'));
  fs.writeFileSync(path.join(dir, `digest${n}.sigbin`), sig);
  fs.writeFileSync(path.join(dir, `digest${n}.key`), object);
  return { object, sig: sig.toString('hex'), hash: sha(inflated) };
}

const d1 = digest(1, '2026-11-27T18:01:31Z', [log('00', [{ eventID: 'a' }])], null);
digest(2, '2026-11-27T19:01:31Z', [log('05', [{ eventID: 'b' }, { eventID: 'c' }])], d1);
fs.writeFileSync(path.join(dir, 'pubkey.b64'), publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'));
fs.writeFileSync(path.join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
// what CloudTrail ListPublicKeys would answer
fs.writeFileSync(path.join(dir, 'pubkeys.json'), JSON.stringify({ PublicKeyList: [{
  Value: publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
  Fingerprint: crypto.createHash('md5').update(publicKey.export({ type: 'pkcs1', format: 'der' })).digest('hex'),
  ValidityStartTime: 1700000000, ValidityEndTime: 1900000000 }] }));
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
fs.writeFileSync(path.join(dir, 'other.b64'), other.export({ type: 'pkcs1', format: 'der' }).toString('base64'));
process.stdout.write('OK\n');
