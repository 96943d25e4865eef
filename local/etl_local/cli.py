"""`etl-local`: run the pipeline on this machine, with the same template, state machine and code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from etl_common.layout import ERROR, REPORTS, STAGING, TRANSFORMED, event_key, incoming_key, parquet_prefix

TIMED_OUT = 3  # a pipeline did not finish within --timeout
EXIT = {"processed": 0, "processed_with_rejects": 1, "rejected": 1, "ignored": 0, "duplicate": 0, "failed": 2}


def _root(path: str | None) -> Path:
    """The project folder: the one holding template.yaml, from the argument or the working folder up."""
    start = Path(path or ".").resolve()
    for folder in [start, *start.parents]:
        if (folder / "template.yaml").is_file():
            return folder
    sys.exit(f"etl-local: no template.yaml in {start} or above (use --root)")


def _check_contracts(root: Path) -> None:
    """Fail early, naming the file and field, when a contract cannot be used."""
    from etl_validator.contract import ContractError, load_all

    try:
        load_all(root / "contracts")
    except ContractError as exc:
        sys.exit(f"etl-local: invalid contract: {exc}")


def _stack(args: argparse.Namespace, **kwargs: Any):
    from .stack import LocalStack

    root = _root(args.root)
    _check_contracts(root)
    for option in ("latency", "time_scale"):  # the commands that take --latency and --time-scale
        if hasattr(args, option):
            kwargs.setdefault(option, getattr(args, option))
    return LocalStack(root, **kwargs).start()


def _time_scale(text: str) -> float:
    from .timing import check_scale

    try:
        return check_scale(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_options(parser: argparse.ArgumentParser) -> None:
    from .timing import DEFAULT_SCALE, LATENCIES

    parser.add_argument(
        "--latency", choices=LATENCIES, default="off",
        help="off (default): services answer as fast as this machine runs them. aws: add AWS-like "
             "latency: each crawl takes 60-120 s, each Glue job run starts after 10-30 s and lasts at "
             "least 60 s, the first invocation of each Lambda function adds a 1-3 s cold start (seeded "
             "draws, the same every run), all divided by --time-scale")
    parser.add_argument(
        "--time-scale", type=_time_scale, default=DEFAULT_SCALE, metavar="N",
        help=f"divide AWS durations by N (default {DEFAULT_SCALE:g}: an AWS minute takes a local second; "
             "1 is real time): the --latency durations; every Wait state, Retry delay (IntervalSeconds, "
             "backoff, MaxDelaySeconds), Task TimeoutSeconds and HeartbeatSeconds and the state machine's "
             "own TimeoutSeconds; and EventBridge Scheduler schedules (rate periods, the time to the next "
             "cron or at time). Work this machine does (Lambda "
             "handlers, the Spark job, crawls) is not sped up, so a scaled timeout leaves it less time")


def _brief(result: dict[str, Any]) -> str:
    where = {"rejected": result.get("error_key"),
             "failed": result.get("error_key") or result.get("staging_key") or result.get("key")}
    lines = [f"{result['outcome'].upper():9} {result['key']}  ({result['execution_status']})",
             f"  states: {' > '.join(result['states'])}"]
    if result["outcome"].startswith("processed"):
        lines.append(f"  {result['rows']} rows; staged at {result['staging_key']}; batch {result['batch_id']}: "
                     f"{len(result['parquet_keys'])} Parquet file(s) under {parquet_prefix(result['dataset'])}")
    if result["outcome"] == "processed_with_rejects":
        lines.append(f"  {result['rejected_rows']} rejected rows at {result['rejects_key']}; "
                     f"report {result['report_key']}")
    elif result["outcome"] in where:
        lines.append(f"  file at {where[result['outcome']]}; report {result.get('report_key')}")
    for note in result["notifications"]:
        message = note["message"]
        detail = message.get("summary") or (message.get("error") or {}).get("Cause", "")
        lines.append(f"  notified: {note['subject']}{' - ' + str(detail)[:200] if detail else ''}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    for file in files:
        if not file.is_file():
            sys.exit(f"etl-local: no such file: {file}")
    if args.key and len(files) > 1:
        sys.exit("etl-local: --key names one object; give one file with it")
    stack = _stack(args)
    try:
        pairs = [(file, args.key or incoming_key(args.dataset, file.name)) for file in files]
        try:
            results = stack.run_files(pairs, timeout=args.timeout)
        except TimeoutError as exc:
            print(f"etl-local: {exc}; raise --timeout (seconds per run)", file=sys.stderr)
            return TIMED_OUT
        counts = stack.run_counts() if args.json else None
        for result in results:
            print(json.dumps(result | {"run": counts}, default=str) if args.json else _brief(result), flush=True)
        if args.output_dir:
            copied = _keep(stack, Path(args.output_dir))
            print(f"etl-local: {copied} object(s) the run produced copied to {args.output_dir}", file=sys.stderr)
        return max(EXIT[r["outcome"]] for r in results)
    finally:
        stack.stop()


def _keep(stack: Any, folder: Path) -> int:
    """Copy what the run produced (staged files, Parquet, reports, rejects, quarantined files) out
    of the local bucket, which goes when the stack stops; keys keep their paths under `folder`."""
    s3, root = stack.client("s3"), folder.resolve()
    keys = [o["Key"] for prefix in (STAGING, ERROR, REPORTS, TRANSFORMED)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    for key in keys:
        target = (root / key).resolve()
        if not target.is_relative_to(root):
            sys.exit(f"etl-local: object key {key!r} would be written outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(stack.bucket, key, str(target))
    return len(keys)


def cmd_demo(args: argparse.Namespace) -> int:
    root = _root(args.root)
    samples = sorted((root / "samples").glob("*/*.csv"))
    stack = _stack(args)
    failures = 0
    started = time.monotonic()
    try:
        print(f"Local stack up: bucket {stack.bucket}; dropping {len(samples)} sample files at once "
              "(staged files are converted by the next batch).\n")
        results = stack.run_files([(sample, incoming_key(sample.parent.name, sample.name)) for sample in samples])
        for sample, result in zip(samples, results):
            expected = ("rejected" if "bad" in sample.stem else
                        "processed_with_rejects" if "partial" in sample.stem else "processed")
            ok = result["outcome"] == expected and len(result["notifications"]) == 1
            failures += not ok
            print(("ok    " if ok else "WRONG ") + _brief(result).replace("\n", "\n      "))
            if result["outcome"].startswith("processed"):
                print(f"        table {stack.outputs['GlueDatabase']}.{result['dataset']}: "
                      + ", ".join(f"{c['Name']} {c['Type']}" for c in _columns(stack, result["dataset"])))
            print()
        print(f"{len(samples) - failures} of {len(samples)} samples ended as expected "
              f"in {time.monotonic() - started:.0f}s.")
        return 1 if failures else 0
    finally:
        stack.stop()


def _columns(stack: Any, table: str) -> list[dict[str, str]]:
    found = stack.client("glue").get_table(DatabaseName=stack.outputs["GlueDatabase"], Name=table)["Table"]
    return found["StorageDescriptor"]["Columns"] + found.get("PartitionKeys", [])


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack(args, port=args.port, on_event=lambda line: print(line, flush=True))
    print(f"""Local stack serving AWS APIs at {stack.endpoint}
  stack:         {stack.stack_name}
  bucket:        {stack.bucket}
  state machine: {stack.outputs['StateMachineArn']}
  batches:       {stack.outputs['BatchStateMachineArn']} (schedule {stack.parameters.get('BatchScheduleExpression', 'rate(5 minutes)')} at time scale {stack.time_scale:g})
  topic:         {stack.outputs['NotificationTopicArn']}

Drop a file to run the pipeline:
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \\
  aws --endpoint-url {stack.endpoint} s3 cp samples/orders/orders-2026-11-20.csv s3://{stack.bucket}/incoming/orders/orders-2026-11-20.csv

Or run the post-deploy smoke test against it:
  etl-local smoke --stack {stack.stack_name} --endpoint-url {stack.endpoint}

Each execution's states are printed below as they happen. Ctrl-C stops the stack.""", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


def cmd_invoke(args: argparse.Namespace) -> int:
    event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    stack = _stack(args)
    try:
        resource = stack.resolve.ref(args.function) if args.function in stack.template.code_dirs else args.function
        if resource not in stack.lambdas.functions:
            sys.exit(f"etl-local: no function {args.function}; the template has {', '.join(stack.template.code_dirs)}")
        if args.object:
            event["detail"]["bucket"]["name"] = stack.bucket
            stack.upload(Path(args.object), event_key(event["detail"]["object"]["key"]))
        result, errored, logs = stack.lambdas.invoke(resource, event)
        print(logs, file=sys.stderr, end="")
        print(json.dumps(result, indent=2, default=str))
        return 1 if errored else 0
    finally:
        stack.stop()


def _session(args: argparse.Namespace) -> Any:
    """A boto3 session for --profile/--region (AWS) or --endpoint-url (the local stack)."""
    import os

    import boto3

    if args.endpoint_url:  # the local stack accepts any credentials
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "testing")
    return boto3.Session(profile_name=args.profile,
                         region_name=args.region or ("us-east-1" if args.endpoint_url else None))


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="s3-parquet-pipeline",
                        help="the deployed stack's name (`etl-local up` deploys one named etl-local)")
    parser.add_argument("--endpoint-url", help="the local stack's endpoint, e.g. http://127.0.0.1:4566")
    parser.add_argument("--profile", help="AWS profile (real account)")
    parser.add_argument("--region", help="AWS region (real account)")


def cmd_smoke(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from etl_ops import smoke

    def log(line: str) -> None:
        print(f"etl-local smoke: {line}", file=sys.stderr, flush=True)

    try:
        test = smoke.SmokeTest(_session(args), args.stack, _root(args.root), endpoint_url=args.endpoint_url,
                               run_id=args.clean_up, log=log)
    except (BotoCoreError, ClientError, smoke.StackNotUsable, FileNotFoundError) as exc:
        log(f"cannot run against stack {args.stack}: {exc}")
        return 2
    if args.clean_up:
        test.clean_up()
        return 1 if test.left else 0
    try:  # a new subscription may need a moment in AWS before SNS can deliver to it
        test.run(timeout=args.timeout, keep=args.keep, settle_seconds=0 if args.endpoint_url else 10)
    except KeyboardInterrupt:
        print(smoke.table(test.cases), flush=True)
        log("interrupted")
        return 130
    except (BotoCoreError, ClientError) as exc:
        print(smoke.table(test.cases), flush=True)
        log(f"AWS refused a call (the smoke test's own permissions: see the README): {exc}")
        return 2
    print(smoke.table(test.cases), flush=True)
    results = [case.result for case in test.cases]
    print(f"{results.count(smoke.PASS)} of {len(results)} passed", flush=True)
    for line in test.left:
        log(f"not removed: {line}")
    if smoke.FAIL in results:
        return 1
    return TIMED_OUT if smoke.WAITING in results else (1 if test.left else 0)


def cmd_reprocess(args: argparse.Namespace) -> int:
    from etl_ops.reprocess import quarantined, reprocess_one, stack_bucket

    session = _session(args)
    s3 = session.client("s3", endpoint_url=args.endpoint_url)
    bucket = args.bucket or stack_bucket(session.client("cloudformation", endpoint_url=args.endpoint_url),
                                         args.stack)
    keys = [args.key] if args.key else [o["Key"] for o in quarantined(s3, bucket, args.dataset)]
    sent = 0
    for key in keys:
        moved = reprocess_one(s3, bucket, key)
        if "already_reprocessed" in moved:
            print(f"{moved['source']}: already reprocessed (s3://{bucket}/{moved['already_reprocessed']})",
                  flush=True)
            continue
        sent += 1
        print(f"{moved['source']} -> s3://{bucket}/{moved['incoming']}"
              + (f" (report kept at {moved['report']})" if "report" in moved else ""), flush=True)
    print(f"{sent} file(s) sent back through the pipeline.")
    return 0


def cmd_contract_infer(args: argparse.Namespace) -> int:
    import csv

    from etl_validator.drafting import infer, to_yaml

    path = Path(args.file)
    if not path.is_file():
        sys.exit(f"etl-local: no such file: {path}")
    if args.output and Path(args.output).exists() and not args.force:
        sys.exit(f"etl-local: {args.output} exists; use --force to overwrite it")
    try:
        draft = infer(path, args.dataset, args.rows)
    except (ValueError, csv.Error) as exc:
        sys.exit(f"etl-local: cannot infer a contract: {exc}")
    text = to_yaml(draft, path.name)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etl-local", description=__doc__)
    parser.add_argument("--root", help="project folder (default: the one holding template.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="serve the emulated AWS endpoint with the stack deployed")
    up.add_argument("--port", type=int, default=4566)
    _time_options(up)
    up.set_defaults(func=cmd_up)
    run = sub.add_parser("run", help="upload files at once, run them through the pipeline, print each outcome")
    run.add_argument("files", nargs="+")
    run.add_argument("--dataset", required=True)
    run.add_argument("--key", help="object key to upload to (default incoming/<dataset>/<file name>)")
    run.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    run.add_argument("--timeout", type=float, default=300,
                     help="seconds to wait for the files' pipelines (default 300); exit code 3 past it")
    run.add_argument("--output-dir", help="copy what the run produced (Parquet, reports, rejects, staged and "
                                          "error objects) here, by key, before the stack stops")
    _time_options(run)
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="run the bundled good and bad samples")
    _time_options(demo)
    demo.set_defaults(func=cmd_demo)
    invoke = sub.add_parser("invoke", help="invoke one function with an event file, like `sam local invoke`")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. ValidatorFunction")
    invoke.add_argument("--event", required=True)
    invoke.add_argument("--object", help="upload this file to the event's key in the local bucket first")
    invoke.set_defaults(func=cmd_invoke)
    reprocess = sub.add_parser("reprocess", help="send files in error/ back through the pipeline (local or AWS)")
    reprocess.add_argument("--dataset", help="only this dataset's quarantined files")
    reprocess.add_argument("--key", help="one quarantined object, e.g. error/orders/file.csv")
    _target_options(reprocess)
    reprocess.add_argument("--bucket", help="the data bucket (default: the stack's DataBucketName output)")
    reprocess.set_defaults(func=cmd_reprocess)
    smoke = sub.add_parser("smoke", help="after a deploy: upload tricky files to a stack (AWS or local), check "
                                         "each one's outcome and notification, print a pass/fail table, clean up")
    _target_options(smoke)
    smoke.add_argument("--timeout", type=float, default=1800,
                       help="seconds to wait for every notification (default 1800: the batch schedule and "
                            "a Glue job run come first)")
    smoke.add_argument("--keep", action="store_true", help="leave the uploaded and derived objects in the bucket")
    smoke.add_argument("--clean-up", metavar="RUN_ID",
                       help="only remove what an earlier run left (its id is in its output), once its files are done")
    smoke.set_defaults(func=cmd_smoke)
    contract = sub.add_parser("contract", help="work with dataset contracts")
    infer = contract.add_subparsers(dest="contract_command", required=True).add_parser(
        "infer", help="draft a contract (YAML) from a sample file, to review and edit")
    infer.add_argument("file")
    infer.add_argument("--dataset", required=True)
    infer.add_argument("--output", help="write the contract here instead of stdout")
    infer.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    infer.add_argument("--rows", type=int, default=10_000,
                       help="infer types from at most this many records (the checks hold for the whole file)")
    infer.set_defaults(func=cmd_contract_infer)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
