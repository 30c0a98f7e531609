"""`yottactl emulator` and `yottactl demo`."""

from __future__ import annotations

import sys

import click

from reconciler.cli import main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--data", "data_file", type=click.Path(dir_okay=False),
              help="Keep the world in this JSON file so separate runs see the same deployments.")
@click.option("--api-key", "api_key", default=None,
              help="Require this key in X-Api-Key (default: accept any non-empty key).")
@click.option("--transition-seconds", default=3.0, show_default=True, type=float,
              help="Duration of INITIALIZING/STOPPING and worker transitions.")
@click.option("--log-interval", default=2.0, show_default=True, type=float,
              help="Seconds between request log lines of a running worker.")
@click.option("--latency-ms", default=0.0, show_default=True, type=float,
              help="Delay every answer by this many milliseconds.")
@click.option("--response-delay-ms", default=0.0, show_default=True, type=float,
              help="Delay answers to mutating calls after committing them (crash testing).")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of API calls answered with 500/503/429 or a dropped connection.")
@click.option("--retry-after", default=1.0, show_default=True, type=float,
              help="Retry-After seconds sent with injected 429s.")
@click.option("--rate-limit", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Requests per second per API key (token bucket, small burst); excess gets "
                   "429 with Retry-After. 0 = unlimited.")
@click.option("--failing-images", "failing_images", multiple=True, metavar="GLOB",
              help="A deployment whose image matches GLOB (e.g. 'vllm/*:v2*', repeatable) goes "
                   "INITIALIZING -> FAILED. An image tag starting with 'fail' always does.")
@click.option("--unhealthy-images", "unhealthy_images", multiple=True, metavar="GLOB",
              help="A deployment whose image matches GLOB (repeatable) reaches RUNNING, but its "
                   "domain answers 503 to every request (a health probe never passes).")
@click.option("--seed", default=None, type=int, help="Seed for ids and faults (reproducible).")
@click.option("--api", "api", type=click.Choice(["both", "v1", "v2"]), default="both",
              show_default=True,
              help="API versions served on the port, over one world: v1 /openapi/v1/elastic/deploy, "
                   "v2 /v2/serverless and /v2/vms/types (docs/API-V2.md). The other's paths answer 404.")
@click.option("--verbose", is_flag=True, help="Log every request.")
def emulator(host: str, port: int, data_file: str | None, api_key: str | None,
             transition_seconds: float, log_interval: float, latency_ms: float,
             response_delay_ms: float,
             fault_rate: float, retry_after: float, rate_limit: float,
             failing_images: tuple[str, ...], unhealthy_images: tuple[str, ...],
             seed: int | None, api: str, verbose: bool) -> None:
    """Run a local Yotta API emulator (v1's 10 operations and v2's, lifecycle, logs, faults).

    \b
    Each RUNNING ALB deployment serves HTTP on the emulator's own port, no DNS needed: its
    domain is http://HOST:PORT/_serve/ID, where any path answers 200 (JSON) while the
    deployment is RUNNING with a RUNNING worker, 503 while it is not serving or its image
    matches --unhealthy-images, and 404 once it is deleted. `yottactl output` shows it as
    the URL; health probes reach it over real HTTP.
    """
    from reconciler.emulator.server import EmulatorServer, build

    emu = build(transition_seconds=transition_seconds, log_interval_seconds=log_interval,
                data_file=data_file, api_key=api_key, latency_ms=latency_ms, api=api,
                fault_rate=fault_rate, retry_after=retry_after, seed=seed,
                response_delay_ms=response_delay_ms, rate_limit=rate_limit,
                failing_images=failing_images, unhealthy_images=unhealthy_images)
    try:
        server = EmulatorServer(emu, host=host, port=port, verbose=verbose)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    click.echo(f"yottactl emulator listening on {server.url}  (Ctrl-C to stop)", err=True)
    if api_key:  # a key is never echoed, not even the emulator's own
        click.echo(f"  export YOTTA_API_URL={server.url} YOTTA_API_KEY=<the key given with "
                   "--api-key>", err=True)
    else:
        click.echo(f"  export YOTTA_API_URL={server.url} YOTTA_API_KEY=any-key", err=True)
    if "v2" in emu.apis:  # Yotta's own v2 CLI (`yotta`, package yottaml) reads YOTTA_BASE_URL
        click.echo(f"  v2 at {server.url}/v2/ (Yotta's `yotta` CLI: export "
                   f"YOTTA_BASE_URL={server.url})", err=True)
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True))
@click.option("--transition-seconds", default=1.0, show_default=True, type=float,
              help="Duration of the emulator's status transitions.")
def demo(path: str | None, transition_seconds: float) -> None:
    """Try yottactl with no account: plan -> apply -> plan on a local emulator.

    Starts the emulator on a free loopback port, uses a throw-away state, and runs the real
    commands against PATH, by default the example manifests shipped inside the package (demo
    values stand in for their secrets), so it works after a plain `pip install`.
    """
    from contextlib import ExitStack
    from importlib import resources

    with ExitStack() as stack:
        if path is None:
            examples = resources.files("reconciler").joinpath("data/examples")
            path = str(stack.enter_context(resources.as_file(examples)))
        _demo(path, transition_seconds)


def _demo(path: str, transition_seconds: float) -> None:
    from reconciler.app.demo import run_demo
    from reconciler.cli import use_color
    from reconciler.render.style import Style

    style = Style(use_color())

    def show(title: str, args: list[str]) -> None:
        click.echo(style(f"\n$ yottactl {' '.join(args)}   # {title}", bold=True))

    run_demo(path, transition_seconds, show)
    click.echo(style("\nDemo complete: plan → apply → plan-clean on the emulator.",
                     fg="green", bold=True))
