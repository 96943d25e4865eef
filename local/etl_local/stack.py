"""The local stack: moto serving the real template, with the seams and runners wired in.

`LocalStack` starts a moto server on 127.0.0.1, deploys `template.yaml` through moto's
CloudFormation, applies what moto skips (state machine substitutions, Glue resources,
bucket EventBridge notifications), and bridges EventBridge to Step Functions with an SQS
target and a poller, the public-API route moto leaves open.
"""

from __future__ import annotations

import io
import logging
import warnings
import json
import os
import re
import socket
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config

from etl_common.layout import delivered_key, parse_s3_uri
from etl_common.vocabulary import Outcome

from . import calls, faults, permissions, schedules, seams, timing
from .crawler import crawl
from .glue_runner import GlueRunner
from .lambda_runner import LambdaRunner, LocalFunction
from .resolve import ACCOUNT_ID, Resolver
from .template import ARTIFACT_BUCKET, Template, load_template

REGION = "us-east-1"
# A waiting file's timeout and an execution's are scaled like every state machine delay
# (--time-scale), but local Spark is not: 10 hours at the default scale of 60 leave a local batch
# 10 minutes, and the execution 10 minutes more.
LOCAL_PARAMETERS = {"HandoffTimeoutSeconds": "36000", "ExecutionTimeoutSeconds": "72000"}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# How the bridge delivers event keys: "url" URL-encoded as S3 notifications are, "raw" as stored.
KEY_ENCODINGS = ("url", "raw")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


class LocalStack:
    """One deployed copy of the pipeline on a local moto server."""

    active: "LocalStack | None" = None
    # The roles and encrypted resources of every stack this process deployed, by ARN: the
    # recorded calls (calls.py) of any of them are checked against these (permissions.py).
    roles: dict[str, permissions.Role] = {}
    account = permissions.Account(REGION, ACCOUNT_ID)

    def __init__(self, root: Path, port: int | None = None, stack_name: str = "etl-local",
                 parameters: dict[str, str] | None = None, on_event: Callable[[str], None] | None = None,
                 latency: str = "off", time_scale: float = timing.DEFAULT_SCALE,
                 key_encoding: str = "url", record_calls: bool = False) -> None:
        if key_encoding not in KEY_ENCODINGS:
            raise ValueError(f"key_encoding must be one of {', '.join(KEY_ENCODINGS)}, not {key_encoding!r}")
        # How the bridge writes `detail.object.key` into the events it delivers (see `_bridge`).
        self.key_encoding = key_encoding
        self.root = root.resolve()
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.stack_name = stack_name
        self.parameters = LOCAL_PARAMETERS | (parameters or {})
        self.on_event = on_event
        self.workdir = Path(tempfile.mkdtemp(prefix="etl-local-"))
        self.lambdas = LambdaRunner()
        self.glue_runner = GlueRunner(self.workdir)
        self.classifiers: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.executions: dict[str, list[str]] = {}
        self.outputs: dict[str, str] = {}
        self.faults = faults.REGISTRY
        self.duplicate_deliveries = 0
        # AWS durations (timing.py): the latency model, and the scale that divides it, the state
        # machines' waits, retries and timeouts, and schedule periods.
        # Record every AWS call with its caller's role, to check against the template (calls.py).
        self.record_calls = record_calls
        self.latency = latency
        self.time_scale = timing.check_scale(time_scale)
        self.timing = timing.TimeModel(latency, self.time_scale)
        # What the stack ran: crawls, Glue job runs and Lambda invocations (any caller).
        self.crawls = 0
        self.glue_job_runs = 0
        self.lambda_invocations = 0
        self._counting = threading.Lock()
        # EventBridge Scheduler (schedules.py): the template's schedules and each firing.
        self.schedules: list[schedules.Schedule] = []
        self.schedule_firings: list[schedules.Firing] = []
        self.schedule_clock: schedules.ScaledClock | None = None
        self._stop = threading.Event()
        self._server = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "LocalStack":
        from moto.server import ThreadedMotoServer

        os.environ.update({
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
            "MOTO_PORT": str(self.port), "MOTO_HOST": "127.0.0.1",
        })
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
        urllib.request.urlopen(request).read()
        LocalStack.active = self
        timing.set_scale(self.time_scale)
        faults.install()
        if self.record_calls:
            calls.install()
        seams.install(lambda fn, event: LocalStack.active._invoke(fn, event),
                      lambda crawler: LocalStack.active._crawl(crawler),
                      lambda job, run: LocalStack.active._job_run(job, run))
        self.session = boto3.session.Session(region_name=REGION)
        self.deploy()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.stop()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A client for the stack's own work (uploads, queries): never faulted."""
        return self.session.client(service, endpoint_url=self.endpoint,
                                   config=Config(user_agent_extra=faults.HARNESS_MARKER))

    # -- deploy --------------------------------------------------------------------------------
    def deploy(self) -> None:
        tpl = load_template(self.root / "template.yaml", self.parameters)
        self.template = tpl
        s3, cfn = self.client("s3"), self.client("cloudformation")
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
        for logical_id, path in {**tpl.code_dirs, **{k: v[0] for k, v in tpl.layer_dirs.items()}}.items():
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{logical_id}.zip", Body=_zip_dir(path))
        for script in tpl.scripts.values():
            s3.upload_file(str(script), ARTIFACT_BUCKET, script.name)
        cfn.create_stack(
            StackName=self.stack_name, TemplateBody=json.dumps(tpl.cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()
                        if k in tpl.cfn.get("Parameters", {})],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"local deploy failed: {stack['StackStatus']} {stack.get('StackStatusReason')}")
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                    for r in cfn.describe_stack_resources(StackName=self.stack_name)["StackResources"]
                    if "LogicalResourceId" in r}
        self.resolve = Resolver(tpl.cfn, physical, self.parameters, self.stack_name, REGION, self.session,
                                stack_id=stack["StackId"])
        self._deploy_glue(tpl)
        self._deploy_functions(tpl)
        self._deploy_state_machines(tpl)
        self._deploy_schedules(tpl)
        self._deploy_buckets(tpl)
        self._deploy_notifications(tpl)
        self._deploy_rules(tpl)
        self.outputs = {k: str(self.resolve(v["Value"])) for k, v in tpl.cfn.get("Outputs", {}).items()}
        LocalStack.roles.update(permissions.template_roles(tpl.cfn, self.resolve))
        LocalStack.account.encrypted.update(permissions.encrypted_resources(tpl.cfn, self.resolve, self.account))
        self.bucket = self.outputs["DataBucketName"]

    def _deploy_glue(self, tpl: Template) -> None:
        """moto's CloudFormation skips AWS::Glue::*: create them through the Glue API."""
        glue = self.client("glue")
        for props in (self.resolve(r["Properties"]) for r in tpl.resources("AWS::Glue::Database").values()):
            glue.create_database(DatabaseInput=props["DatabaseInput"])
        for props in (self.resolve(r["Properties"]) for r in tpl.resources("AWS::Glue::SecurityConfiguration").values()):
            config = dict(props["EncryptionConfiguration"])
            config["S3Encryption"] = config.pop("S3Encryptions", [])  # CloudFormation's name for the API's list
            glue.create_security_configuration(Name=props["Name"], EncryptionConfiguration=config)
        for props in (self.resolve(r["Properties"]) for r in tpl.resources("AWS::Glue::Classifier").values()):
            self.classifiers[props["CsvClassifier"]["Name"]] = props["CsvClassifier"]
        for props in (self.resolve(r["Properties"]) for r in tpl.resources("AWS::Glue::Crawler").values()):
            glue.create_crawler(**props)
        for props in (self.resolve(r["Properties"]) for r in tpl.resources("AWS::Glue::Job").values()):
            glue.create_job(**{k: v for k, v in props.items() if k not in {"AllocatedCapacity", "MaxCapacity"}})

    def _deploy_functions(self, tpl: Template) -> None:
        lam = self.client("lambda")
        for logical_id in tpl.code_dirs:
            config = lam.get_function(FunctionName=self.resolve.ref(logical_id))["Configuration"]
            props = self.resolve(tpl.cfn["Resources"][logical_id]["Properties"])
            python_layers, opt_dirs = tpl.layer_mounts(logical_id)
            self.lambdas.register(LocalFunction(
                name=config["FunctionName"], handler=props["Handler"], code_dir=tpl.code_dirs[logical_id],
                python_layers=python_layers, opt_dirs=opt_dirs,
                # CloudFormation passes every environment value as a string (a Number parameter too).
                environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
                memory=props.get("MemorySize", 128), timeout=props.get("Timeout", 3), arn=config["FunctionArn"],
                role=config["Role"]))

    def _deploy_state_machines(self, tpl: Template) -> None:
        """moto's CloudFormation reports state machines it never creates (and ignores substitutions):
        substitute as CloudFormation would and create them through the API."""
        sfn = self.client("stepfunctions")
        for logical_id, resource in tpl.resources("AWS::StepFunctions::StateMachine").items():
            values = self.resolve(resource["Properties"].get("DefinitionSubstitutions", {}))
            text = (self.root / tpl.sam["Resources"][logical_id]["Properties"]["DefinitionUri"]).read_text("utf-8")
            for name, value in values.items():
                text = text.replace("${" + name + "}", str(value))
            arn = self.resolve.ref(logical_id)
            props = self.resolve({k: v for k, v in resource["Properties"].items()
                                  if k in {"RoleArn", "TracingConfiguration", "LoggingConfiguration"}})
            logging_config = props.get("LoggingConfiguration", {})
            sfn.create_state_machine(
                name=arn.rsplit(":", 1)[-1], definition=text, roleArn=props["RoleArn"],
                tracingConfiguration={"enabled": bool(props.get("TracingConfiguration", {}).get("Enabled"))},
                loggingConfiguration={
                    "level": logging_config.get("Level", "OFF"),
                    "includeExecutionData": bool(logging_config.get("IncludeExecutionData")),
                    "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                                     for d in logging_config.get("Destinations", [])]})

    def _deploy_schedules(self, tpl: Template) -> None:
        """moto's CloudFormation skips AWS::Scheduler::Schedule and moto never fires a schedule:
        create each through the Scheduler API and fire the ENABLED ones on threads (schedules.py)."""
        scheduler, sfn = self.client("scheduler"), self.client("stepfunctions")
        self.schedule_clock = schedules.ScaledClock(self.time_scale)
        for logical_id, resource in tpl.resources("AWS::Scheduler::Schedule").items():
            schedule = schedules.Schedule.from_properties(self.resolve(resource.get("Properties", {})),
                                                          default_name=f"{self.stack_name}-{logical_id}")
            if schedule.group != "default" and schedule.group not in {
                    g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]}:
                scheduler.create_schedule_group(Name=schedule.group)
            scheduler.create_schedule(**schedule.api_request())
            self.schedules.append(schedule)
            if not schedule.enabled:
                continue

            def state(schedule: schedules.Schedule = schedule) -> str | None:
                try:
                    return scheduler.get_schedule(Name=schedule.name, GroupName=schedule.group)["State"]
                except scheduler.exceptions.ResourceNotFoundException:
                    return None

            def start_execution(arn: str, name: str, text: str | None,
                                role: str | None = schedule.target.get("RoleArn")) -> str:
                with calls.acting_as(role):  # Scheduler calls the target with the schedule's role
                    return sfn.start_execution(stateMachineArn=arn, name=name,
                                               **({"input": text} if text is not None else {}))["executionArn"]

            def on_fire(firing: schedules.Firing) -> None:
                self.schedule_firings.append(firing)
                if self.on_event and firing.error:  # a firing that started a batch shows in the files' states
                    self.on_event(f"[schedule {firing.schedule}] fired for {firing.time:%Y-%m-%d %H:%M:%S %Z}: "
                                  f"failed: {firing.error}")

            def delete(schedule: schedules.Schedule = schedule) -> None:
                scheduler.delete_schedule(Name=schedule.name, GroupName=schedule.group)

            schedules.ScheduleRunner(schedule, self.schedule_clock, self._stop, start_execution, on_fire,
                                     state=state, on_done=delete).start()

    def _deploy_buckets(self, tpl: Template) -> None:
        """moto ignores NotificationConfiguration: turn on EventBridge delivery through the S3 API.

        moto skips AWS::S3::BucketPolicy too, and that stays so: its TLS-only statement would
        deny every call to the plain-HTTP local endpoint.
        """
        s3 = self.client("s3")
        for logical_id, resource in tpl.resources("AWS::S3::Bucket").items():
            if resource["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=self.resolve.ref(logical_id),
                                         VersioningConfiguration={"Status": "Enabled"})
            config = resource["Properties"].get("NotificationConfiguration", {})
            if config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
                s3.put_bucket_notification_configuration(
                    Bucket=self.resolve.ref(logical_id),
                    NotificationConfiguration={"EventBridgeConfiguration": {}})

    def _deploy_notifications(self, tpl: Template) -> None:
        """Subscribe a queue to every topic, so the stack can show what subscribers receive."""
        sqs, sns = self.client("sqs"), self.client("sns")
        url = sqs.create_queue(QueueName=f"{self.stack_name}-notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for logical_id in tpl.resources("AWS::SNS::Topic"):
            sns.subscribe(TopicArn=self.resolve.ref(logical_id), Protocol="sqs", Endpoint=arn)
        threading.Thread(target=self._collect_notifications, args=(url,), daemon=True).start()

    def _deploy_rules(self, tpl: Template) -> None:
        """moto's EventBridge cannot start a state machine: route the rule to a queue and poll it."""
        events, sqs = self.client("events"), self.client("sqs")
        for logical_id, resource in tpl.resources("AWS::Events::Rule").items():
            rule = self.resolve.ref(logical_id)
            targets = self.resolve(resource["Properties"]["Targets"])
            machines = [(t["Arn"], t.get("RoleArn")) for t in targets if ":states:" in t["Arn"]]
            if not machines:
                continue
            url = sqs.create_queue(QueueName=f"{self.stack_name}-{logical_id}"[:80])["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets if ":states:" in t["Arn"]])
            events.put_targets(Rule=rule, Targets=[{"Id": "etl-local-bridge", "Arn": arn}])
            threading.Thread(target=self._bridge, args=(url, machines), daemon=True).start()

    # -- bridges -------------------------------------------------------------------------------
    def _bridge(self, queue_url: str, machines: list[tuple[str, str | None]]) -> None:
        """Start each target state machine with the target's role, as EventBridge does."""
        sqs, sfn = self.client("sqs"), self.client("stepfunctions")
        while not self._stop.is_set():
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=1).get("Messages", []):
                event = json.loads(message["Body"])
                key = event["detail"]["object"]["key"]
                # moto sends object keys raw. S3 URL-encodes them in its notifications; for
                # EventBridge it does not say, so the pipeline takes either: `key_encoding` picks.
                if self.key_encoding == "url":
                    event["detail"]["object"]["key"] = delivered_key(key)
                deliveries = 1
                if self.duplicate_deliveries > 0:  # EventBridge delivers at least once
                    self.duplicate_deliveries -= 1
                    deliveries = 2
                for machine, role in machines * deliveries:
                    with calls.acting_as(role):
                        arn = sfn.start_execution(stateMachineArn=machine, name=self._execution_name(event),
                                                  input=json.dumps(event))["executionArn"]
                    self.executions.setdefault(key, []).append(arn)
                    if self.on_event:
                        threading.Thread(target=self._follow, args=(arn, key), daemon=True).start()
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    @staticmethod
    def _execution_name(event: dict[str, Any]) -> str:
        """A fresh name per delivery, as EventBridge gives: duplicates are the pipeline's to catch."""
        stem = re.sub(r"[^A-Za-z0-9_-]", "-", event["detail"]["object"]["key"].rsplit("/", 1)[-1])[:40]
        return f"{stem}-{uuid.uuid4().hex[:20]}"

    def _collect_notifications(self, queue_url: str) -> None:
        sqs = self.client("sqs")
        while not self._stop.is_set():
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=1).get("Messages", []):
                envelope = json.loads(message["Body"])
                self.notifications.append({
                    "subject": envelope.get("Subject"),
                    "message": json.loads(envelope["Message"]),
                    "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                })
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _follow(self, arn: str, key: str) -> None:
        """Report each state of one execution as it is entered (for `etl-local up`)."""
        seen = 0
        name = arn.rsplit(":", 1)[-1][:12]
        self.on_event(f"[{name}] started for s3://{self.bucket}/{key}")
        while not self._stop.is_set():
            states = self.states(arn)
            for state in states[seen:]:
                self.on_event(f"[{name}]   {state}")
            seen = len(states)
            status = self.client("stepfunctions").describe_execution(executionArn=arn)["status"]
            if status in TERMINAL:
                self.on_event(f"[{name}] {status}: {self.outcome(arn)['outcome']}")
                return
            time.sleep(0.5)

    # -- seams' callbacks ----------------------------------------------------------------------
    def _invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        with self._counting:
            self.lambda_invocations += 1
        self._stop.wait(self.timing.cold_start(function.function_name))
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        logical_id = self.template.logical_id(self.resolve, function.function_name)
        fault = self.faults.take("lambda-runtime", logical_id)
        if fault:  # the function itself fails or times out, as opposed to the Invoke API
            return json.dumps({"errorType": fault.code, "errorMessage": fault.message}), True, ""
        return self.lambdas.invoke_json(function.function_name, event)

    def _crawl(self, crawler: Any) -> None:
        with self._counting:
            self.crawls += 1
        run = crawler.crawls[-1]
        self._stop.wait(self.timing.crawl(crawler.name))
        try:
            with calls.acting_as(crawler.role):
                crawl(self.client("s3"), self.client("glue"), crawler.as_dict(), self.classifiers)
            run.status = "COMPLETED"
        except Exception as exc:  # a crawl that fails is reported by the crawler, as in Glue
            run.error_message = str(exc)
            run.status = "FAILED"

    def _job_run(self, job: Any, run: Any) -> None:
        with self._counting:
            self.glue_job_runs += 1
        self._stop.wait(self.timing.job_start(job.name))
        started = time.monotonic()
        try:
            fault = self.faults.take("glue-runtime", job.name)
            if fault:
                raise RuntimeError(f"{fault.code}: {fault.message}")
            with calls.acting_as(job.role):
                self.glue_runner.run(self.client("s3"), job.command["ScriptLocation"], run.arguments,
                                     run.job_run_id, job.name)
            status, error = "SUCCEEDED", None
        except Exception as exc:  # the job's failure is the job run's state, as in Glue
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
        self._stop.wait(self.timing.job_padding(time.monotonic() - started))  # the minimum run time
        if error:
            run.error_message = error
        run.status = status

    # -- queries ---------------------------------------------------------------------------------
    def states(self, arn: str) -> list[str]:
        events = self.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def wait(self, key: str, timeout: float = 300, count: int = 1) -> list[str]:
        """The execution ARNs started for `key`, once they have all finished."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            arns = self.executions.get(key, [])
            if len(arns) >= count and all(
                    sfn.describe_execution(executionArn=a)["status"] in TERMINAL for a in arns):
                return arns
            time.sleep(0.2)
        raise TimeoutError(f"no finished execution for {key} after {timeout}s")

    def notifications_for(self, arn: str, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [n for n in self.notifications if n["message"].get("execution") == arn]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def outcome(self, arn: str) -> dict[str, Any]:
        """What happened to one execution's file, in the shape `etl-local run --json` prints."""
        sfn, s3 = self.client("stepfunctions"), self.client("s3")
        described = sfn.describe_execution(executionArn=arn)
        states = self.states(arn)
        output = json.loads(described.get("output") or "{}")
        plan = output.get("validation", {}).get("plan", {})
        silent = {"Ignored", "Duplicate"} & set(states)
        notifications = self.notifications_for(arn, timeout=0 if silent else 10)
        message = notifications[-1]["message"] if notifications else {}
        final = {"Processed": Outcome.PROCESSED, "Rejected": Outcome.REJECTED, "Ignored": Outcome.IGNORED,
                 "Duplicate": Outcome.DUPLICATE}
        outcome = next((final[s] for s in reversed(states) if s in final), Outcome.FAILED)
        if outcome == Outcome.PROCESSED:
            outcome = Outcome(plan["outcome"])  # processed, or processed_with_rejects (error threshold)
        parquet_keys = []
        if outcome in (Outcome.PROCESSED, Outcome.PROCESSED_WITH_REJECTS):
            _, prefix = parse_s3_uri(plan["parquet_path"])
            parquet_keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix) for o in page.get("Contents", [])
                if o["Key"].rsplit("/", 1)[-1].startswith(plan["source_id"] + "-")]
        report_uri = plan.get("report_uri") or message.get("report_uri")
        report_key = parse_s3_uri(report_uri)[1] if report_uri else None
        source = plan.get("source", {})
        return {
            "outcome": str(outcome),
            "batch_id": output.get("conversion", {}).get("batch_id"),
            "execution_arn": arn,
            "execution_status": described["status"],
            "states": states,
            "bucket": self.bucket,
            "key": source.get("key") or message.get("key"),
            "version_id": source.get("version_id") or message.get("version_id"),
            "dataset": plan.get("dataset") or message.get("dataset"),
            "staging_key": message.get("staging_key") if outcome != Outcome.REJECTED else None,
            "error_key": message.get("error_key"),
            "rejects_key": plan.get("rejects_key"),
            "report_key": report_key,
            "reason": plan.get("reason"),
            "parquet_keys": sorted(parquet_keys),
            "rows": plan.get("rows"),
            "failed_rows": plan.get("failed_rows"),
            "rejected_rows": plan.get("rejected_rows"),
            "error": message.get("error"),
            "notifications": notifications,
        }

    # -- actions ---------------------------------------------------------------------------------
    def upload(self, path: Path, key: str) -> None:
        self.client("s3").upload_file(str(path), self.bucket, key)

    def run_files(self, files: list[tuple[Path, str]], timeout: float = 300) -> list[dict[str, Any]]:
        """Upload files at once, as a burst, and wait for each one's pipeline to finish."""
        before = {key: len(self.executions.get(key, [])) for _, key in files}
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda pair: self.upload(*pair), files))
        return [self.outcome(self._handling_execution(key, before[key], timeout)) for _, key in files]

    def run_counts(self) -> dict[str, int]:
        """What the stack did since it started, as AWS bills it: state transitions (states entered,
        in the histories of both state machines' executions), crawls, Glue job runs and Lambda
        invocations (docs/cost.md turns them into dollars)."""
        sfn = self.client("stepfunctions")
        transitions = 0
        for machine in (arn for name, arn in self.outputs.items() if name.endswith("StateMachineArn")):
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                for execution in page["executions"]:
                    for history in sfn.get_paginator("get_execution_history").paginate(
                            executionArn=execution["executionArn"]):
                        transitions += sum("stateEnteredEventDetails" in e for e in history["events"])
        return {"transitions": transitions, "crawls": self.crawls, "glue_job_runs": self.glue_job_runs,
                "lambda_invocations": self.lambda_invocations}

    def permission_problems(self, since: int = 0) -> list[str]:
        """Each permission that an AWS call recorded after `since` (a `calls.RECORDER.mark()`)
        needed and its role's policies in the template do not grant (permissions.py)."""
        return permissions.problems(calls.RECORDER.since(since), LocalStack.roles, LocalStack.account)

    def run_file(self, path: Path, key: str, timeout: float = 300) -> dict[str, Any]:
        return self.run_files([(path, key)], timeout)[0]

    def _handling_execution(self, key: str, before: int, timeout: float) -> str:
        """The execution that handled the upload: a duplicate delivery's execution is not it."""
        deadline = time.monotonic() + timeout
        while True:
            arns = self.wait(key, timeout=max(deadline - time.monotonic(), 1), count=before + 1)[before:]
            handling = [a for a in arns if "Duplicate" not in self.states(a)]
            if handling:
                return handling[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"only duplicate executions for {key}")
            time.sleep(0.2)
