#!/usr/bin/env bash
# deploy/inventory.yaml, the CloudFormation template for real AWS, checked
# without AWS:
#   1. its structure (PyYAML with the short tags !Ref, !Sub, !GetAtt...):
#      the bucket (SSE-S3, public access blocked) notifies the events queue
#      of s3:ObjectCreated:* and depends on the queue policy that lets
#      s3.amazonaws.com send from that bucket and account; every queue has
#      SqsManagedSseEnabled; the updates queue has visibility 300 s and a
#      redrive policy to its own DLQ after 5 receives; the table has key id
#      (S, HASH), on-demand billing and point-in-time recovery; the age alarm
#      (>= 600 s) and the DLQ alarm notify the topic; the daemon's managed
#      policy grants exactly the expected actions on exactly the expected
#      resources (no wildcard); the role trusts EC2 and ECS tasks; the
#      outputs exist that etc/inventory.conf's variables and docs/deploy.md's
#      snippets are read from;
#   2. cfn-lint, when it is installed, and `aws cloudformation
#      validate-template` on moto (which runs cfn-lint's rules too);
#   3. `aws cloudformation create-stack` on moto, with the defaults and with
#      every parameter set: CREATE_COMPLETE, every output set, and the
#      resources moto really creates checked through their own APIs (the
#      policy's resources resolve to the ARNs of the created queues, bucket
#      and table).
#      A third stack has DeployService=true (in a VPC and subnet made on
#      moto): the ECS Fargate service's cluster, service, task definition,
#      log group, security group and roles as moto's APIs describe them.
# Step 1 also checks the service: every resource of it under Condition
# DeployService; the task definition (Fargate, the image, the packaged
# inventory.conf with PIPELINED_METRICS_LISTEN on loopback, the health
# check pipelined-healthcheck, awslogs to the stack's log group with its
# retention) and that the Dockerfile, the entrypoint and the package
# provide what it names; the task role holds exactly the daemon's policy
# and trusts only ECS tasks; the execution role may only pull from this
# account's ECR and write to the log group; the security group has no
# inbound rule and only HTTPS out; the scalable target runs MinTasks to
# MaxTasks, and the target-tracking policy returns the one expression
# m1 / m2 (m1 the updates queue's ApproximateNumberOfMessagesVisible, m2
# the service's ECS/ContainerInsights RunningTaskCount) held at
# BacklogPerTask; the rejected-rows metric filter matches src/group.c's
# warning and its alarm notifies the topic. And every warning the daemon
# logs (each PL_LOG_WARN format in src/ and plugins/) has its row in
# docs/deploy.md's "Warning lines" table.
# moto 5.2 builds the queues, the bucket (name, encryption), the table
# (keys, billing), the managed policy, the roles, the instance profile,
# and of the service the ECS cluster, service and task definition (its
# container definitions), the log group (retention) and the security group
# (its VPC and inbound rules). It accepts but does not apply the bucket's
# notification configuration, public access block and bucket policy, the
# SQS queue policy, the SNS subscription, the CloudWatch alarms, the roles'
# ManagedPolicyArns, the table's point-in-time recovery, the cluster's
# Container Insights setting, the service's network configuration, the
# security group's egress rules and the task definition's CPU, roles and
# Fargate settings; it creates no Application Auto Scaling target or policy
# and no log metric filter (it warns that it does not support those
# types): all of those are checked only in step 1.
# The daemon is not needed (PIPELINED is not used).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if [ "${PIPELINED_TEST_SCOPE:-full}" != full ]; then
  echo "SKIP: the template does not depend on the build; it is checked once" \
    "per scripts/test, in its gcc build (PIPELINED_TEST_SCOPE=${PIPELINED_TEST_SCOPE})"
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
template=$top_srcdir/deploy/inventory.yaml
conf=$top_srcdir/etc/inventory.conf
doc=$top_srcdir/docs/deploy.md

fail() { echo "FAIL (${AWS_ENV_KIND:-static}): $*" >&2; exit 1; }

[ -r "$template" ] || fail "$template is missing"
python3 -c 'import yaml' 2>/dev/null \
  || fail "python3 cannot import yaml (PyYAML), which step 1 needs: pip install pyyaml"

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-deploy.XXXXXX")
# Set before aws-env.sh installs its own, which chains to it.
trap 'rm -rf "$work"' EXIT

# ---- 1. Structure ----
python3 - "$template" "$conf" "$doc" "$top_srcdir" <<'PY' || fail "the template's structure (above)"
import json, os, re, sys
import yaml

template_path, conf_path, doc_path, top_srcdir = sys.argv[1:5]

class Loader(yaml.SafeLoader):
    pass

def short_tag(loader, suffix, node):
    # !Ref X -> {"Ref": X}; !GetAtt A.B -> {"Fn::GetAtt": [A, B]};
    # !Sub/!If/... -> {"Fn::Sub": ...}, the long forms of the short tags.
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}

Loader.add_multi_constructor("!", short_tag)

with open(template_path) as f:
    t = yaml.load(f, Loader=Loader)

problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
    return cond

res = t.get("Resources") or {}
outputs = t.get("Outputs") or {}
params = t.get("Parameters") or {}
conditions = t.get("Conditions") or {}

def of_type(kind):
    return {k: v for k, v in res.items() if v.get("Type") == kind}

def props(name):
    return res.get(name, {}).get("Properties") or {}

def ref(name):
    return {"Ref": name}

def getatt(name, attr):
    return {"Fn::GetAtt": [name, attr]}

def as_list(x):
    return x if isinstance(x, list) else [x]

def key(x):
    return json.dumps(x, sort_keys=True)

def output_ref(name):
    # The resource an output names with !Ref.
    value = (outputs.get(name) or {}).get("Value")
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in res:
        return value["Ref"]
    problems.append(f"output {name} is not a !Ref of a resource: {value!r}")
    return None

# Every output the docs and the daemon's config depend on.
required_outputs = {
    "InventoryBucket": "INVENTORY_BUCKET",
    "InventoryEventsQueueUrl": "INVENTORY_EVENTS_QUEUE_URL",
    "InventoryUpdatesQueueUrl": "INVENTORY_UPDATES_QUEUE_URL",
    "InventoryTable": "INVENTORY_TABLE",
}
for name in list(required_outputs) + ["Region", "DaemonPolicyArn", "DaemonRoleName",
                                      "DaemonInstanceProfileName", "AlarmTopicArn"]:
    check(name in outputs, f"output {name} is missing")

for kind, least in [("AWS::S3::Bucket", 1), ("AWS::SQS::Queue", 3), ("AWS::SQS::QueuePolicy", 1),
                    ("AWS::DynamoDB::Table", 1), ("AWS::SNS::Topic", 1),
                    ("AWS::CloudWatch::Alarm", 2), ("AWS::IAM::ManagedPolicy", 1),
                    ("AWS::IAM::Role", 1), ("AWS::IAM::InstanceProfile", 1)]:
    n = len(of_type(kind))
    check(n >= least, f"{kind}: {n} resource(s), expected at least {least}")
check(len(of_type("AWS::IAM::ManagedPolicy")) == 1, "expected exactly one AWS::IAM::ManagedPolicy (the daemon's)")

bucket = output_ref("InventoryBucket")
events = output_ref("InventoryEventsQueueUrl")
updates = output_ref("InventoryUpdatesQueueUrl")
table = output_ref("InventoryTable")
if problems:
    print("\n".join("  " + p for p in problems), file=sys.stderr)
    sys.exit(1)
check(res[bucket]["Type"] == "AWS::S3::Bucket", "InventoryBucket is not a bucket")
check(res[events]["Type"] == "AWS::SQS::Queue", "InventoryEventsQueueUrl is not a queue")
check(res[updates]["Type"] == "AWS::SQS::Queue", "InventoryUpdatesQueueUrl is not a queue")
check(events != updates, "the events and updates queues are the same queue")
check(res[table]["Type"] == "AWS::DynamoDB::Table", "InventoryTable is not a table")

# Queues: SSE everywhere; updates and events queues redrive to their DLQ.
for name, q in of_type("AWS::SQS::Queue").items():
    check((q.get("Properties") or {}).get("SqsManagedSseEnabled") is True,
          f"queue {name}: SqsManagedSseEnabled is not true")
dlqs = {}
for name in (updates, events):
    p = props(name)
    check(p.get("VisibilityTimeout") == 300, f"queue {name}: VisibilityTimeout is {p.get('VisibilityTimeout')!r}, not 300")
    rp = p.get("RedrivePolicy") or {}
    check(rp.get("maxReceiveCount") == 5, f"queue {name}: RedrivePolicy maxReceiveCount is {rp.get('maxReceiveCount')!r}, not 5")
    target = rp.get("deadLetterTargetArn")
    dlq = target["Fn::GetAtt"][0] if isinstance(target, dict) and "Fn::GetAtt" in target else None
    if check(dlq in res and res[dlq]["Type"] == "AWS::SQS::Queue" and target["Fn::GetAtt"][1] == "Arn"
             and dlq not in (events, updates), f"queue {name}: deadLetterTargetArn is not !GetAtt DLQ.Arn of a queue of its own: {target!r}"):
        dlqs[name] = dlq
check(len(set(dlqs.values())) == len(dlqs), "the events and updates queues share a DLQ")

# Bucket: SSE-S3, public access blocked, ObjectCreated:* -> events queue.
b = props(bucket)
sse = [r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
       for r in (b.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []]
check(sse == ["AES256"], f"bucket: SSE algorithm {sse!r}, expected ['AES256'] (SSE-S3)")
pab = b.get("PublicAccessBlockConfiguration") or {}
for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
    check(pab.get(k) is True, f"bucket: PublicAccessBlockConfiguration.{k} is not true")
qcs = (b.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
check(any(qc.get("Event") == "s3:ObjectCreated:*" and qc.get("Queue") == getatt(events, "Arn") for qc in qcs),
      f"bucket: no QueueConfiguration sending s3:ObjectCreated:* to !GetAtt {events}.Arn: {qcs!r}")

# The events queue's policy: S3 may send, from this bucket and account only;
# the bucket waits for it.
policies = [n for n, r in of_type("AWS::SQS::QueuePolicy").items()
            if ref(events) in as_list((r.get("Properties") or {}).get("Queues"))]
if check(len(policies) == 1, f"expected one AWS::SQS::QueuePolicy on {events}, found {policies}"):
    qp = policies[0]
    check(qp in as_list(res[bucket].get("DependsOn", [])), f"bucket: DependsOn does not name {qp} (S3 checks the queue policy)")
    stmts = as_list(props(qp).get("PolicyDocument", {}).get("Statement", []))
    s3_stmts = [s for s in stmts if s.get("Effect") == "Allow"
                and (s.get("Principal") or {}).get("Service") == "s3.amazonaws.com"]
    if check(len(s3_stmts) == 1, f"{qp}: expected one Allow statement for s3.amazonaws.com"):
        s = s3_stmts[0]
        check(as_list(s.get("Action")) == ["sqs:SendMessage"], f"{qp}: Action {s.get('Action')!r}, expected sqs:SendMessage")
        check(s.get("Resource") == getatt(events, "Arn"), f"{qp}: Resource is not !GetAtt {events}.Arn")
        cond = s.get("Condition") or {}
        check((cond.get("StringEquals") or {}).get("aws:SourceAccount") == ref("AWS::AccountId"),
              f"{qp}: no StringEquals aws:SourceAccount = !Ref AWS::AccountId")
        src = (cond.get("ArnEquals") or cond.get("ArnLike") or {}).get("aws:SourceArn")
        # !Sub ["arn:${AWS::Partition}:s3:::${Name}", {Name: <the bucket's BucketName>}]
        sub = src.get("Fn::Sub") if isinstance(src, dict) else None
        m = (re.fullmatch(r"arn:\$\{AWS::Partition\}:s3:::\$\{(\w+)\}", sub[0])
             if isinstance(sub, list) and len(sub) == 2 and isinstance(sub[0], str) else None)
        ok = (m is not None and b.get("BucketName") is not None
              and sub[1].get(m.group(1)) == b.get("BucketName"))
        check(ok, f"{qp}: aws:SourceArn is not the ARN of the bucket's own BucketName: {src!r}")

# Table.
tp = props(table)
check(tp.get("KeySchema") == [{"AttributeName": "id", "KeyType": "HASH"}], f"table: KeySchema {tp.get('KeySchema')!r}")
check(tp.get("AttributeDefinitions") == [{"AttributeName": "id", "AttributeType": "S"}],
      f"table: AttributeDefinitions {tp.get('AttributeDefinitions')!r}")
check(tp.get("BillingMode") == "PAY_PER_REQUEST", f"table: BillingMode {tp.get('BillingMode')!r}")
check((tp.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True,
      "table: point-in-time recovery is not enabled")

# Topic, optional e-mail subscription, alarms.
topics = list(of_type("AWS::SNS::Topic"))
subs = of_type("AWS::SNS::Subscription")
check(any(s.get("Condition") in conditions and "AlarmEmail" in key(conditions[s["Condition"]])
          and (s.get("Properties") or {}).get("Endpoint") == ref("AlarmEmail") for s in subs.values()),
      "no e-mail subscription conditional on the AlarmEmail parameter")
check("AlarmEmail" in params and params["AlarmEmail"].get("Default") == "", "parameter AlarmEmail (default '') is missing")

def alarms_on(metric, queue):
    found = []
    for name, a in of_type("AWS::CloudWatch::Alarm").items():
        p = a.get("Properties") or {}
        if (p.get("Namespace") == "AWS/SQS" and p.get("MetricName") == metric
                and p.get("Dimensions") == [{"Name": "QueueName", "Value": getatt(queue, "QueueName")}]):
            found.append(p)
    return found

def notifies_topic(p):
    return any(ref(t) in as_list(p.get("AlarmActions", [])) for t in topics)

age = alarms_on("ApproximateAgeOfOldestMessage", updates)
check(any(p.get("Threshold") == 600 and p.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
          and p.get("Statistic") == "Maximum" and notifies_topic(p) for p in age),
      f"no alarm: Maximum ApproximateAgeOfOldestMessage of {updates} >= 600 -> the topic")
if updates in dlqs:
    depth = alarms_on("ApproximateNumberOfMessagesVisible", dlqs[updates])
    check(any(p.get("Threshold") == 0 and p.get("ComparisonOperator") == "GreaterThanThreshold"
              and notifies_topic(p) for p in depth),
          f"no alarm: ApproximateNumberOfMessagesVisible of {dlqs[updates]} > 0 -> the topic")

# The daemon's policy: exactly these actions on exactly these resources.
expected = {
    "s3:GetObject": [{"Fn::Sub": "${%s.Arn}/*" % bucket}],
    "s3:ListBucket": [getatt(bucket, "Arn")],
    "sqs:ReceiveMessage": [getatt(events, "Arn"), getatt(updates, "Arn")],
    "sqs:DeleteMessage": [getatt(events, "Arn"), getatt(updates, "Arn")],
    "sqs:ChangeMessageVisibility": [getatt(events, "Arn"), getatt(updates, "Arn")],
    "sqs:GetQueueAttributes": [getatt(events, "Arn"), getatt(updates, "Arn")],
    "sqs:SendMessage": [getatt(updates, "Arn")],
    "dynamodb:UpdateItem": [getatt(table, "Arn")],
    "dynamodb:BatchWriteItem": [getatt(table, "Arn")],
    # pipelined --check --live (DescribeTable of the sink's table).
    "dynamodb:DescribeTable": [getatt(table, "Arn")],
}
policy, pol = next(iter(of_type("AWS::IAM::ManagedPolicy").items()), (None, {}))
granted = {}
for s in as_list(((pol.get("Properties") or {}).get("PolicyDocument") or {}).get("Statement", [])):
    for k in ("NotAction", "NotResource", "Principal", "Condition"):
        check(k not in s, f"{policy}: a statement has {k}")
    check(s.get("Effect") == "Allow", f"{policy}: a statement is not Allow")
    for action in as_list(s.get("Action", [])):
        check("*" not in action, f"{policy}: wildcard action {action!r}")
        granted.setdefault(action, set()).update(key(r) for r in as_list(s.get("Resource", [])))
check(set(granted) == set(expected),
      f"{policy}: actions {sorted(granted)}, expected exactly {sorted(expected)}")
for action, want in expected.items():
    if action in granted:
        check(granted[action] == {key(r) for r in want},
              f"{policy}: {action} on {sorted(granted[action])}, expected {sorted(key(r) for r in want)}")
roles = of_type("AWS::IAM::Role")
check(any(ref(policy) in (r.get("Properties") or {}).get("ManagedPolicyArns", []) for r in roles.values()),
      f"no role attaches {policy}")
role = output_ref("DaemonRoleName")
if role:
    trust = as_list(props(role).get("AssumeRolePolicyDocument", {}).get("Statement", []))
    services = {svc for s in trust if s.get("Effect") == "Allow" and "sts:AssumeRole" in as_list(s.get("Action"))
                for svc in as_list((s.get("Principal") or {}).get("Service", []))}
    check(services == {"ec2.amazonaws.com", "ecs-tasks.amazonaws.com"},
          f"role {role}: trusted services {sorted(services)}")
    profile = output_ref("DaemonInstanceProfileName")
    check(profile and props(profile).get("Roles") == [ref(role)], f"the instance profile does not hold {role}")

# ---- The ECS Fargate service (DeployService=true) ----
# moto does not create the Application Auto Scaling resources, nor the log
# metric filter, and applies little of the task definition, the service and
# the security group: what they say is checked here.
svc_param = params.get("DeployService") or {}
check(svc_param.get("Default") == "false" and sorted(svc_param.get("AllowedValues", [])) == ["false", "true"],
      f"parameter DeployService: default 'false', values true/false expected: {svc_param!r}")
check(conditions.get("DeployService") == {"Fn::Equals": [ref("DeployService"), "true"]},
      f"condition DeployService is not !Equals [!Ref DeployService, 'true']: {conditions.get('DeployService')!r}")
for name in ("ImageUri", "VpcId", "Subnets"):
    check((params.get(name) or {}).get("Default") == "", f"parameter {name} (default '') is missing")
for name in ("MinTasks", "MaxTasks", "BacklogPerTask", "LogRetentionDays"):
    check((params.get(name) or {}).get("Type") == "Number", f"parameter {name} (Number) is missing")
check((params.get("MinTasks") or {}).get("MinValue") == 1, "parameter MinTasks: MinValue is not 1")
assertions = [a.get("Assert") for r in (t.get("Rules") or {}).values()
              if r.get("RuleCondition") == {"Fn::Equals": [ref("DeployService"), "true"]}
              for a in r.get("Assertions", [])]
for name in ("ImageUri", "VpcId", "Subnets"):
    check(any(name in key(a) for a in assertions), f"no rule asserts {name} when DeployService is true")

ecs_kinds = ("AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service", "AWS::Logs::LogGroup",
             "AWS::Logs::MetricFilter", "AWS::EC2::SecurityGroup", "AWS::ApplicationAutoScaling::ScalableTarget",
             "AWS::ApplicationAutoScaling::ScalingPolicy")
service_only = {n for n, r in res.items() if r.get("Type") in ecs_kinds}
for kind in ecs_kinds:
    check(len(of_type(kind)) == 1, f"{kind}: {len(of_type(kind))} resource(s), expected exactly one")
check(not of_type("AWS::EC2::SecurityGroupIngress"), "an AWS::EC2::SecurityGroupIngress lets something in")

def one(kind):
    return next(iter(of_type(kind)), None)

cluster, taskdef, service = one("AWS::ECS::Cluster"), one("AWS::ECS::TaskDefinition"), one("AWS::ECS::Service")
loggroup, sg = one("AWS::Logs::LogGroup"), one("AWS::EC2::SecurityGroup")
target, scaling = one("AWS::ApplicationAutoScaling::ScalableTarget"), one("AWS::ApplicationAutoScaling::ScalingPolicy")
td = props(taskdef)
task_role = (td.get("TaskRoleArn") or {}).get("Fn::GetAtt", [None])[0]
exec_role = (td.get("ExecutionRoleArn") or {}).get("Fn::GetAtt", [None])[0]
service_only |= {task_role, exec_role}
for name in sorted(service_only - {None}):
    check(res.get(name, {}).get("Condition") == "DeployService", f"{name}: not under Condition DeployService")
for name, o in outputs.items():
    if key(o.get("Value")) and any(n in key(o.get("Value")) for n in service_only - {None}):
        check(o.get("Condition") == "DeployService", f"output {name} names a service resource without Condition DeployService")

check(any(s == {"Name": "containerInsights", "Value": "enabled"} for s in props(cluster).get("ClusterSettings", [])),
      f"cluster {cluster}: Container Insights (the RunningTaskCount the scaling divides by) is not enabled")
check(props(loggroup).get("RetentionInDays") == ref("LogRetentionDays"),
      f"log group {loggroup}: RetentionInDays is not !Ref LogRetentionDays")

# The task definition: Fargate, the image, the packaged config with
# metrics_listen on loopback, /healthz as the health check, awslogs.
check(td.get("RequiresCompatibilities") == ["FARGATE"] and td.get("NetworkMode") == "awsvpc",
      f"task definition {taskdef}: not FARGATE/awsvpc")
containers = td.get("ContainerDefinitions") or []
c = containers[0] if len(containers) == 1 else {}
check(len(containers) == 1, f"task definition {taskdef}: {len(containers)} containers, expected one")
check(c.get("Image") == ref("ImageUri") and c.get("Essential") is True, f"container: Image is not !Ref ImageUri, or not essential")
check(c.get("Command") == ["-c", "/etc/pipelined/inventory.conf"],
      f"container: Command {c.get('Command')!r}, expected the packaged inventory.conf")
env = {e.get("Name"): e.get("Value") for e in c.get("Environment", [])}
for out_name, var in required_outputs.items():
    check(env.get(var) == ref(output_ref(out_name)), f"container: {var} is not !Ref {output_ref(out_name)}")
check(env.get("AWS_REGION") == ref("AWS::Region"), "container: AWS_REGION is not !Ref AWS::Region")
listen = env.get("PIPELINED_METRICS_LISTEN")
check(isinstance(listen, str) and re.fullmatch(r"127\.0\.0\.1:\d+", listen or ""),
      f"container: PIPELINED_METRICS_LISTEN {listen!r} is not a loopback HOST:PORT")
hc = c.get("HealthCheck") or {}
check(hc.get("Command") == ["CMD", "pipelined-healthcheck"], f"container: health check {hc.get('Command')!r}")
check(isinstance(c.get("StopTimeout"), int) and 30 < c["StopTimeout"] <= 120,
      f"container: StopTimeout {c.get('StopTimeout')!r} does not leave the 30 s drain room (Fargate allows 120)")
lc = c.get("LogConfiguration") or {}
opts = lc.get("Options") or {}
check(lc.get("LogDriver") == "awslogs" and opts.get("awslogs-group") == ref(loggroup)
      and opts.get("awslogs-region") == ref("AWS::Region") and opts.get("awslogs-stream-prefix"),
      f"container: LogConfiguration {lc!r} is not awslogs to {loggroup}")
# The image those names come from: the entrypoint takes the arguments and
# PIPELINED_METRICS_LISTEN, the health check is on PATH, the package
# installs inventory.conf, which sets no metrics_listen of its own.
dockerfile = open(os.path.join(top_srcdir, "Dockerfile")).read()
check('ENTRYPOINT ["pipelined-entrypoint"]' in dockerfile, "Dockerfile: the entrypoint is not pipelined-entrypoint")
check("container/healthcheck.sh /usr/local/bin/pipelined-healthcheck" in dockerfile,
      "Dockerfile: pipelined-healthcheck is not installed on PATH")
check("PIPELINED_METRICS_LISTEN" in open(os.path.join(top_srcdir, "container/entrypoint.sh")).read(),
      "container/entrypoint.sh does not read PIPELINED_METRICS_LISTEN")
check(re.search(r"^PIPELINED_CONFS = etc/inventory\.conf", open(os.path.join(top_srcdir, "Makefile.am")).read(), re.M),
      "Makefile.am does not install etc/inventory.conf (the task's config)")
if os.path.exists(conf_path):
    check(not re.search(r"^\s*metrics_listen\s*=", open(conf_path).read(), re.M),
          f"{conf_path} sets metrics_listen: the entrypoint refuses PIPELINED_METRICS_LISTEN then")

# The task role: the daemon's policy and nothing else, for ECS tasks only.
tr = props(task_role)
check(tr.get("ManagedPolicyArns") == [ref(policy)] and "Policies" not in tr,
      f"task role {task_role}: policies {tr.get('ManagedPolicyArns')!r}/{tr.get('Policies')!r}, expected exactly [{policy}]")
def trusted(role_props):
    return {svc for s in as_list(role_props.get("AssumeRolePolicyDocument", {}).get("Statement", []))
            if s.get("Effect") == "Allow" and "sts:AssumeRole" in as_list(s.get("Action"))
            for svc in as_list((s.get("Principal") or {}).get("Service", []))}
check(trusted(tr) == {"ecs-tasks.amazonaws.com"}, f"task role {task_role}: trusted {sorted(trusted(tr))}")
# The execution role: pull from this account's ECR, write to the log group.
er = props(exec_role)
check(trusted(er) == {"ecs-tasks.amazonaws.com"} and not er.get("ManagedPolicyArns"),
      f"execution role {exec_role}: trusted {sorted(trusted(er))}, managed {er.get('ManagedPolicyArns')!r}")
exec_granted = {}
for p in er.get("Policies", []):
    for s in as_list(p.get("PolicyDocument", {}).get("Statement", [])):
        check(s.get("Effect") == "Allow" and "Condition" not in s, f"execution role {exec_role}: a statement is not a plain Allow")
        for action in as_list(s.get("Action", [])):
            exec_granted.setdefault(action, set()).update(key(r) for r in as_list(s.get("Resource", [])))
repos = {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*"}
exec_expected = {
    "ecr:GetAuthorizationToken": {key("*")},
    "ecr:BatchCheckLayerAvailability": {key(repos)},
    "ecr:GetDownloadUrlForLayer": {key(repos)},
    "ecr:BatchGetImage": {key(repos)},
    "logs:CreateLogStream": {key(getatt(loggroup, "Arn"))},
    "logs:PutLogEvents": {key(getatt(loggroup, "Arn"))},
}
check(exec_granted == exec_expected, f"execution role {exec_role}: grants {exec_granted!r}, expected {exec_expected!r}")

# The network: no inbound rule at all (the health check runs inside the
# task), HTTPS out, the service in the given subnets.
sgp = props(sg)
check("SecurityGroupIngress" not in sgp, f"security group {sg}: has inbound rules {sgp.get('SecurityGroupIngress')!r}")
check(sgp.get("VpcId") == ref("VpcId"), f"security group {sg}: VpcId is not !Ref VpcId")
check(sgp.get("SecurityGroupEgress") and all(
          e.get("IpProtocol") == "tcp" and e.get("FromPort") == 443 and e.get("ToPort") == 443
          for e in sgp["SecurityGroupEgress"]),
      f"security group {sg}: egress {sgp.get('SecurityGroupEgress')!r}, expected HTTPS only")
sp = props(service)
net = (sp.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
check(sp.get("LaunchType") == "FARGATE" and sp.get("Cluster") == ref(cluster) and sp.get("TaskDefinition") == ref(taskdef),
      f"service {service}: not a FARGATE service of {taskdef} in {cluster}")
check(net.get("SecurityGroups") == [ref(sg)] and net.get("Subnets") == ref("Subnets")
      and net.get("AssignPublicIp") == ref("AssignPublicIp"), f"service {service}: network {net!r}")
check("LoadBalancers" not in sp, f"service {service}: a load balancer lets traffic in")
check("DesiredCount" not in sp, f"service {service}: DesiredCount would reset the auto-scaled count on updates")

# Scaling: from MinTasks to MaxTasks on the backlog per task, m1 / m2.
tp_ = props(target)
check(tp_.get("ServiceNamespace") == "ecs" and tp_.get("ScalableDimension") == "ecs:service:DesiredCount"
      and tp_.get("ResourceId") == {"Fn::Sub": "service/${%s}/${%s.Name}" % (cluster, service)}
      and tp_.get("MinCapacity") == ref("MinTasks") and tp_.get("MaxCapacity") == ref("MaxTasks"),
      f"scalable target {target}: {tp_!r}")
pp = props(scaling)
tt = pp.get("TargetTrackingScalingPolicyConfiguration") or {}
check(pp.get("PolicyType") == "TargetTrackingScaling" and pp.get("ScalingTargetId") == ref(target)
      and tt.get("TargetValue") == ref("BacklogPerTask"), f"scaling policy {scaling}: {pp!r}")
metrics = {m.get("Id"): m for m in (tt.get("CustomizedMetricSpecification") or {}).get("Metrics", [])}
returned = [m for m in metrics.values() if m.get("ReturnData", True)]
exprs = [re.sub(r"\s+", "", m.get("Expression", "")) for m in returned]
if check(exprs == ["m1/m2"], f"scaling policy {scaling}: returned data {exprs!r}, expected the one expression m1 / m2"):
    def stat(mid):
        ms = (metrics.get(mid) or {}).get("MetricStat") or {}
        m = ms.get("Metric") or {}
        return m.get("Namespace"), m.get("MetricName"), m.get("Dimensions"), ms.get("Stat")
    check(stat("m1") == ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                         [{"Name": "QueueName", "Value": getatt(updates, "QueueName")}], "Sum"),
          f"scaling policy {scaling}: m1 {stat('m1')!r} is not the visible messages of {updates}")
    check(stat("m2") == ("ECS/ContainerInsights", "RunningTaskCount",
                         [{"Name": "ClusterName", "Value": ref(cluster)},
                          {"Name": "ServiceName", "Value": getatt(service, "Name")}], "Average"),
          f"scaling policy {scaling}: m2 {stat('m2')!r} is not the service's RunningTaskCount")

# Rejected rows: the metric filter matches the warning src/group.c logs,
# and an alarm on it notifies the topic.
mf = props(one("AWS::Logs::MetricFilter"))
phrase = re.fullmatch(r'"([^"]+)"', mf.get("FilterPattern", ""))
group_c = open(os.path.join(top_srcdir, "src/group.c")).read()
if check(phrase and mf.get("LogGroupName") == ref(loggroup),
         f"metric filter: pattern {mf.get('FilterPattern')!r} is not one quoted phrase on {loggroup}"):
    check(phrase.group(1) in group_c, f"metric filter: {phrase.group(1)!r} is not in src/group.c's warning")
mt = (mf.get("MetricTransformations") or [{}])[0]
check(any((a.get("Properties") or {}).get("MetricName") == mt.get("MetricName")
          and (a.get("Properties") or {}).get("Namespace") == mt.get("MetricNamespace")
          and notifies_topic(a.get("Properties") or {}) for a in of_type("AWS::CloudWatch::Alarm").values()),
      f"no alarm on {mt.get('MetricName')!r} -> the topic")

# The config reads the outputs' values under these names; the docs read
# outputs that exist.
if os.path.exists(conf_path):
    text = open(conf_path).read()
    for var in required_outputs.values():
        check("${" + var in text, f"{conf_path} does not read {var}")
else:
    print(f"note: {conf_path} is not there yet; its variables were not checked")
if os.path.exists(doc_path):
    text = open(doc_path).read()
    for name in set(re.findall(r"\$\(out (\w+)\)", text)):
        check(name in outputs, f"{doc_path} reads output {name}, which the template does not have")
    for name, var in dict(required_outputs, Region="AWS_REGION").items():
        check(f"{var}=$(out {name})" in text, f"{doc_path} does not set {var}=$(out {name})")

# Every warning the daemon and its plugins log (PL_LOG_WARN in src/ and
# plugins/) has its row in docs/deploy.md's "Warning lines": the longest
# fixed part of its format must be there.
import ast, glob
if os.path.exists(doc_path):
    doc_text = open(doc_path).read()
    warnings_doc = doc_text[doc_text.find("### Warning lines"):]
    literal = r'"(?:[^"\\]|\\.)*"'
    n_warnings = 0
    for c_file in sorted(glob.glob(os.path.join(top_srcdir, "src", "**", "*.c"), recursive=True)
                         + glob.glob(os.path.join(top_srcdir, "plugins", "**", "*.c"), recursive=True)):
        text = open(c_file).read()
        for m in re.finditer(r"PL_LOG_WARN[^\";{}]*?,\s*((?:%s\s*)+)" % literal, text):
            fmt = "".join(ast.literal_eval(lit) for lit in re.findall(literal, m.group(1)))
            pieces = [p.strip(" ,;:()") for p in re.split(r"%[-0-9.]*(?:zu|llu|lld|ld|lu|u|d|s|c|x)", fmt)]
            fixed = max(pieces, key=len)
            n_warnings += 1
            check(fixed in warnings_doc,
                  f"{os.path.relpath(c_file, top_srcdir)}: the warning {fmt!r} has no row in {doc_path} "
                  f"(\"Warning lines\" does not contain {fixed!r})")
    check(n_warnings >= 25, f"only {n_warnings} PL_LOG_WARN formats found in src/ and plugins/: the scan is broken")

if problems:
    print("\n".join("  " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(res)} resources; queues {events}/{updates} with DLQs {dlqs[events]}/{dlqs[updates]}, "
      f"policy {policy} grants {len(granted)} actions, also to the task role {task_role}; "
      f"service {service} scales on {exprs[0]} from MinTasks to MaxTasks; "
      f"{n_warnings} warning formats, each in {os.path.basename(doc_path)}")
PY
echo "ok: the template's structure (queues, bucket notification and queue policy, table, alarms, least-privilege policy, outputs)"

# ---- 2. Lint and validate ----
if command -v cfn-lint >/dev/null 2>&1; then
  cfn-lint "$template" >"$work/cfn-lint.out" 2>&1 \
    || { cat "$work/cfn-lint.out" >&2; fail "cfn-lint reports problems"; }
  echo "ok: cfn-lint $(cfn-lint --version 2>/dev/null | awk '{print $NF}') finds nothing"
else
  echo "note: cfn-lint is not on PATH; only moto's validate-template lints the template"
fi

if ! command -v aws >/dev/null 2>&1; then
  echo "SKIP: the aws CLI is not installed (pip install awscli); steps 2 and 3 need it"
  exit 77
fi
# moto_server writes scratch files into its working directory.
cd "$work"
# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_moto

aws cloudformation validate-template --template-body "file://$template" \
  --query Description --output text >"$work/validate.out" 2>&1 \
  || { cat "$work/validate.out" >&2; fail "validate-template rejected the template"; }
echo "ok: validate-template accepts it"

# ---- 3. Create the stack on moto ----
# create STACK [KEY=VALUE...]: creates the stack, waits for CREATE_COMPLETE
# and leaves describe-stacks' answer in $work/STACK.json.
create() {
  local stack=$1 kv status=
  shift
  local params=()
  for kv in "$@"; do params+=("ParameterKey=${kv%%=*},ParameterValue=${kv#*=}"); done
  aws cloudformation create-stack --stack-name "$stack" --template-body "file://$template" \
    --capabilities CAPABILITY_NAMED_IAM ${params[@]+--parameters "${params[@]}"} >/dev/null \
    || fail "create-stack $stack failed"
  for _ in $(seq 1 60); do
    aws cloudformation describe-stacks --stack-name "$stack" --output json >"$work/$stack.json" \
      || fail "describe-stacks $stack failed"
    status=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["Stacks"][0]["StackStatus"])' \
      "$work/$stack.json")
    case $status in
      CREATE_COMPLETE) return 0 ;;
      *_IN_PROGRESS) sleep 0.5 ;;
      *) aws cloudformation describe-stack-events --stack-name "$stack" \
           --query 'StackEvents[].[LogicalResourceId,ResourceStatus,ResourceStatusReason]' --output text >&2
         fail "stack $stack: $status" ;;
    esac
  done
  fail "stack $stack: still $status after 30 s"
}

create inventory
echo "ok: stack inventory (default parameters) is CREATE_COMPLETE"
# The other branch of every condition: a named bucket, no suffix filter, an
# e-mail subscription.
create inventory-params BucketName=my-inventory-uploads NotificationSuffix= AlarmEmail=ops@example.com
echo "ok: stack inventory-params (BucketName, empty NotificationSuffix, AlarmEmail) is CREATE_COMPLETE"
# DeployService=true: the ECS Fargate service, in a VPC and subnet made on
# moto first (the image is only a name: nothing runs it).
vpc=$(aws ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId --output text) || fail "create-vpc"
subnet=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --query Subnet.SubnetId --output text) \
  || fail "create-subnet"
image=123456789012.dkr.ecr.us-east-1.amazonaws.com/pipelined:test
create inventory-ecs DeployService=true "ImageUri=$image" "VpcId=$vpc" "Subnets=$subnet" MaxTasks=4
echo "ok: stack inventory-ecs (DeployService=true, ImageUri, VpcId, Subnets, MaxTasks) is CREATE_COMPLETE"

# The outputs, and the resources they name as moto's own APIs describe them
# (boto3 through aws_env_helper.py, which only ever talks to loopback).
python3 - "$here" "$template" "$work" "$image" "$vpc" "$subnet" <<'PY' || fail "the stacks moto created (above)"
import json, sys
import yaml

here, template, work, image, vpc, subnet = sys.argv[1:7]
sys.path.insert(0, here)
from aws_env_helper import client

class Loader(yaml.SafeLoader):
    pass
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
loaded = yaml.load(open(template), Loader=Loader)
declared = list(loaded["Outputs"])
# Outputs of the service: only with DeployService=true.
service_outputs = {n for n, o in loaded["Outputs"].items() if o.get("Condition") == "DeployService"}
service_resources = {n for n, r in loaded["Resources"].items() if r.get("Condition") == "DeployService"}

problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
    return cond

def outputs(stack, with_service=False):
    s = json.load(open(f"{work}/{stack}.json"))["Stacks"][0]
    got = {o["OutputKey"]: o.get("OutputValue", "") for o in s.get("Outputs", [])}
    for name in declared:
        if with_service or name not in service_outputs:
            check(got.get(name), f"stack {stack}: output {name} is missing or empty")
        else:
            check(name not in got, f"stack {stack}: output {name} without DeployService=true")
    return got

out = outputs("inventory")
params = outputs("inventory-params")
ecs_out = outputs("inventory-ecs", with_service=True)
check(out.get("InventoryBucket") == "inventory-123456789012-us-east-1",
      f"default bucket name {out.get('InventoryBucket')!r}, expected STACK-ACCOUNT-REGION")
check(out.get("Region") == "us-east-1", f"output Region {out.get('Region')!r}")
check(params.get("InventoryBucket") == "my-inventory-uploads",
      f"stack inventory-params: InventoryBucket {params.get('InventoryBucket')!r}, expected the BucketName parameter")
if problems:
    print("\n".join("  " + p for p in problems), file=sys.stderr)
    sys.exit(1)

sqs, s3, ddb, iam = (client(s) for s in ("sqs", "s3", "dynamodb", "iam"))
s3.head_bucket(Bucket="my-inventory-uploads")

q = {}
for name, key in [("events", "InventoryEventsQueueUrl"), ("updates", "InventoryUpdatesQueueUrl"),
                  ("events-dlq", "EventsDeadLetterQueueUrl"), ("updates-dlq", "UpdatesDeadLetterQueueUrl")]:
    q[name] = sqs.get_queue_attributes(QueueUrl=out[key], AttributeNames=["All"])["Attributes"]
    check(q[name].get("SqsManagedSseEnabled") == "true",
          f"queue {name}: SqsManagedSseEnabled {q[name].get('SqsManagedSseEnabled')!r}")
for name in ("events", "updates"):
    a = q[name]
    check(a.get("VisibilityTimeout") == "300", f"queue {name}: VisibilityTimeout {a.get('VisibilityTimeout')!r}")
    rp = json.loads(a.get("RedrivePolicy", "{}"))
    check(rp.get("deadLetterTargetArn") == q[name + "-dlq"]["QueueArn"] and int(rp.get("maxReceiveCount", 0)) == 5,
          f"queue {name}: RedrivePolicy {rp!r}")

bucket = out["InventoryBucket"]
rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
check([r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules] == ["AES256"],
      f"bucket encryption {rules!r}")

t = ddb.describe_table(TableName=out["InventoryTable"])["Table"]
check(t["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}], f"table KeySchema {t['KeySchema']!r}")
check(t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST",
      f"table billing {t.get('BillingModeSummary')!r}")

# The policy as deployed: its resources resolved to the ARNs moto created.
arn = out["DaemonPolicyArn"]
version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
if isinstance(doc, str):
    doc = json.loads(doc)
as_list = lambda x: x if isinstance(x, list) else [x]
got = {}
for s in as_list(doc["Statement"]):
    for action in as_list(s["Action"]):
        got.setdefault(action, set()).update(as_list(s["Resource"]))
both = {q["events"]["QueueArn"], q["updates"]["QueueArn"]}
want = {
    "s3:GetObject": {f"arn:aws:s3:::{bucket}/*"},
    "s3:ListBucket": {f"arn:aws:s3:::{bucket}"},
    "sqs:ReceiveMessage": both,
    "sqs:DeleteMessage": both,
    "sqs:ChangeMessageVisibility": both,
    "sqs:GetQueueAttributes": both,
    "sqs:SendMessage": {q["updates"]["QueueArn"]},
    "dynamodb:UpdateItem": {t["TableArn"]},
    "dynamodb:BatchWriteItem": {t["TableArn"]},
    "dynamodb:DescribeTable": {t["TableArn"]},
}
check(got == want, f"deployed policy {got!r}, expected {want!r}")

profile = iam.get_instance_profile(InstanceProfileName=out["DaemonInstanceProfileName"])["InstanceProfile"]
check([r["RoleName"] for r in profile["Roles"]] == [out["DaemonRoleName"]],
      f"instance profile roles {[r['RoleName'] for r in profile['Roles']]}, expected [{out['DaemonRoleName']}]")
role = iam.get_role(RoleName=out["DaemonRoleName"])["Role"]
check(role["Arn"] == out["DaemonRoleArn"], f"DaemonRoleArn {out['DaemonRoleArn']!r} is not the role's {role['Arn']!r}")

# ---- The service stack ----
cfn, ecs, logs, ec2 = (client(s) for s in ("cloudformation", "ecs", "logs", "ec2"))
physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
            for r in cfn.list_stack_resources(StackName="inventory-ecs")["StackResourceSummaries"]}
for stack in ("inventory", "inventory-params"):
    present = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    check(not present & service_resources,
          f"stack {stack}: service resources {sorted(present & service_resources)} without DeployService=true")
created = sorted(n for n in service_resources if physical.get(n))
# What moto 5.2 builds of the service: anything less is a regression of
# the template (or of moto); more is reported below.
for name in ("Cluster", "LogGroup", "TaskRole", "TaskExecutionRole", "TaskDefinition", "TaskSecurityGroup", "Service"):
    check(name in created, f"stack inventory-ecs: moto did not create {name}")

eo = ecs_out
svc = ecs.describe_services(cluster=eo["ClusterName"], services=[eo["ServiceName"]])["services"]
if check(len(svc) == 1, f"service {eo['ServiceName']} not in cluster {eo['ClusterName']}"):
    td = ecs.describe_task_definition(taskDefinition=svc[0]["taskDefinition"])["taskDefinition"]
    c = td["containerDefinitions"][0]
    check(c.get("image") == image, f"task definition image {c.get('image')!r}, expected {image!r}")
    env = {e["name"]: e["value"] for e in c.get("environment", [])}
    check(env.get("INVENTORY_UPDATES_QUEUE_URL") == eo["InventoryUpdatesQueueUrl"],
          f"task INVENTORY_UPDATES_QUEUE_URL {env.get('INVENTORY_UPDATES_QUEUE_URL')!r}")
    check(env.get("INVENTORY_TABLE") == eo["InventoryTable"] and env.get("INVENTORY_BUCKET") == eo["InventoryBucket"],
          f"task INVENTORY_TABLE/INVENTORY_BUCKET {env.get('INVENTORY_TABLE')!r}/{env.get('INVENTORY_BUCKET')!r}")
    check(env.get("PIPELINED_METRICS_LISTEN") == "127.0.0.1:9100", f"task PIPELINED_METRICS_LISTEN {env.get('PIPELINED_METRICS_LISTEN')!r}")
    check((c.get("healthCheck") or {}).get("command") == ["CMD", "pipelined-healthcheck"],
          f"task health check {c.get('healthCheck')!r}")
    lopts = (c.get("logConfiguration") or {}).get("options") or {}
    check(lopts.get("awslogs-group") == eo["LogGroupName"], f"task awslogs-group {lopts.get('awslogs-group')!r}")
groups = logs.describe_log_groups(logGroupNamePrefix=eo["LogGroupName"])["logGroups"]
check([g.get("retentionInDays") for g in groups] == [30], f"log group retention {[g.get('retentionInDays') for g in groups]}")
sgs = ec2.describe_security_groups(GroupIds=[physical["TaskSecurityGroup"]])["SecurityGroups"]
check(sgs and sgs[0]["VpcId"] == vpc and sgs[0]["IpPermissions"] == [],
      f"security group {physical['TaskSecurityGroup']}: vpc {sgs[0]['VpcId'] if sgs else None}, inbound {sgs[0]['IpPermissions'] if sgs else None}")
trust = iam.get_role(RoleName=physical["TaskRole"])["Role"]["AssumeRolePolicyDocument"]
if isinstance(trust, str):
    trust = json.loads(trust)
check([s["Principal"]["Service"] for s in as_list(trust["Statement"])] == ["ecs-tasks.amazonaws.com"],
      f"task role trust {trust!r}")
check(iam.get_role(RoleName=physical["TaskRole"])["Role"]["Arn"] == eo["TaskRoleArn"], "TaskRoleArn is not the task role's")

if problems:
    print("\n".join("  " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"ok: every output of the three stacks ({len(declared) - len(service_outputs)} without the service, "
      f"{len(declared)} with it) is set")
print(f"ok: moto created {', '.join(created)}")
print(f"note: moto created none of {', '.join(sorted(service_resources - set(created)))} "
      "(checked in step 1 only)")
PY
echo "ok: moto's queues, bucket, table, policy (with the created ARNs), role and instance profile are what the template says"
echo "ok: moto's cluster, service, task definition (image, environment, health check, awslogs), log group (retention), security group (no inbound) and task role are what the template says"
