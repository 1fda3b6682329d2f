/*
 * nt_asff.h - an alert as an AWS Security Finding Format (ASFF) finding.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Required attributes: SchemaVersion "2018-10-08", Id = the alert id
 * (stable, so a retry updates instead of duplicating), ProductArn (the
 * account's default product unless configured), GeneratorId = the rule,
 * AwsAccountId = the calling account (the default product only accepts
 * findings for the caller's account), Types from the tags, CreatedAt =
 * the event time, UpdatedAt = now, Severity.Label from the priority
 * (emergency/alert/critical → CRITICAL, error → HIGH, warning → MEDIUM,
 * notice → LOW, informational/debug → INFORMATIONAL; Original = the Falco
 * priority), Title (rule, ≤ 256 chars), Description (rendered output,
 * ≤ 1024 chars), Resources.
 *
 * Types: mitre_<tactic> tags → "TTPs/<Tactic>" (exfiltration and impact
 * → "Effects/Data Exfiltration", "Effects/Data Destruction");
 * compliance tags → "Software and Configuration Checks/Industry and
 * Regulatory Standards/<framework>" (CIS_AWS_ → CIS AWS Foundations
 * Benchmark, NIST_800-53_ → NIST 800-53 Controls, PCI_DSS_ → PCI-DSS
 * Controls, SOC2_ → SOC 2, AWS_FSBP_ → AWS Foundational Security Best
 * Practices, HIPAA_, ISO_27001_, GDPR_ likewise); none → "Unusual
 * Behaviors/User".
 *
 * Resources (≤ 32) from the CloudTrail record: the event's account
 * (AwsAccount "AWS::::Account:<recipientAccountId>"), the principal
 * (AwsIamUser / AwsIamRole from userIdentity), and what the request
 * names: AwsS3Bucket (bucketName), AwsEc2Instance (instanceId, instance
 * sets), AwsIamRole/AwsIamUser/AwsIamPolicy/AwsIamGroup (roleName,
 * userName, policyArn, groupName), AwsEc2SecurityGroup (groupId),
 * AwsCloudTrailTrail (name for cloudtrail), AwsKmsKey (keyId),
 * AwsLambdaFunction (functionName).  ProductFields carry rule, priority,
 * tags, the event's account, eventID, eventName, eventSource,
 * sourceIPAddress, awsRegion and the output fields (≤ 50 in all).
 *
 * Size: every string is capped (Title 256, Description 1024, ProductFields
 * values 2048, Resource ids 512 bytes); a capped value ends with
 * " [truncated N bytes]" and ProductFields "trailguard/truncated" lists
 * what was cut.  If the finding is still over max_bytes, the output
 * fields are removed from ProductFields (noted the same way).  A finding
 * is never refused for its size.
 */
#ifndef NT_ASFF_H
#define NT_ASFF_H

#include <stddef.h>
#include <stdint.h>

#include "aws_buf.h"
#include "nt_alert.h"

#define NT_ASFF_MAX_FINDING (240u * 1000u)

typedef struct nt_asff_opts {
    const char *region;       /* for ProductArn and resources */
    const char *account_id;   /* the caller's account (12 digits) */
    const char *product_arn;  /* NULL = the account's default product */
    uint64_t now_ns;          /* UpdatedAt */
    size_t max_bytes;         /* 0 = NT_ASFF_MAX_FINDING */
} nt_asff_opts;

/* Append the finding (one JSON object) to out.  Returns 0, or 1 when
 * something was truncated; -ENOMEM. */
int nt_asff_build(const nt_asff_opts *o, const nt_alert *a, aws_buf *out);

/* Severity label for a priority. Static string. */
const char *nt_asff_label(int prio);

#endif /* NT_ASFF_H */
