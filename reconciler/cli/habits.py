"""Terraform and kubectl habits: a spelling from those tools either works or the error says
exactly what to type instead (never click's `No such option '-a'` for `-auto-approve`)."""

from __future__ import annotations

import click

# commands of Terraform / kubectl that yottactl does not have -> what to type instead
FOREIGN_COMMANDS = {
    "describe": ("kubectl", "`yottactl get NAME -o yaml` shows one deployment in full (live); "
                            "`yottactl state show NAME` shows what the state records"),
    "diff": ("kubectl and Terraform", "`yottactl plan` shows what apply would change; "
                                  "`yottactl drift` reports live changes made outside yottactl"),
    "scale": ("kubectl", "yottactl is declarative: set `workers:` in the deployment's manifest, "
                         "then `yottactl plan` and `yottactl apply`"),
    "delete": ("kubectl", "remove the manifest and run `yottactl apply` (or `yottactl destroy "
                          "PATH...`); `yottactl delete-unmanaged ID...` for deployments the "
                          "state does not manage"),
    "create": ("kubectl", "write a manifest (`yottactl export NAME` starts from a live one), "
                          "then `yottactl apply`"),
    "init": ("Terraform", "there is nothing to initialise: `yottactl validate` checks the "
                          "manifests, `yottactl plan` shows what apply would do"),
    "refresh": ("Terraform", "`yottactl apply --refresh-only` records the live values in the state"),
    "taint": ("Terraform", "`yottactl apply --replace NAME` replaces one deployment"),
    "rollout": ("kubectl", "`yottactl restart NAME` restarts (`rollout restart`); "
                           "`yottactl wait NAME` waits (`rollout status`)"),
    "status": ("kubectl", "`yottactl get` lists deployments with their status"),
    "version": ("kubectl and Terraform", "`yottactl --version` prints yottactl's version"),
}


def foreign_command(name: str) -> click.UsageError | None:
    """The error for a Terraform/kubectl command name yottactl does not have, else None."""
    known = FOREIGN_COMMANDS.get(name)
    if known is None:
        return None
    tool, instead = known
    return click.UsageError(f"yottactl has no `{name}` command (a {tool} habit): {instead}")


def kubectl_filename(command: click.Command, args: list[str]) -> click.UsageError | None:
    """`apply -f DIR` (kubectl's --filename): yottactl takes manifest files and folders as
    arguments, so the error shows the command with the path moved there."""
    if "paths" not in {p.name for p in command.params} or {"-f", "--filename"} & {
            opt for p in command.params for opt in getattr(p, "opts", [])}:
        return None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in ("-f", "--filename") or (arg.startswith("-f") and not arg.startswith("--")
                                           and len(arg) > 2 and not eq):
            path = value if eq else arg[2:] if name not in ("-f", "--filename") else (
                args[i + 1] if i + 1 < len(args) else "PATH")
            return click.UsageError(f"{arg}: yottactl takes manifest files and folders as "
                                    f"arguments, not kubectl's -f: type `yottactl "
                                    f"{command.name} {path}`")
    return None


def single_dash_long_options(command: click.Command, args: list[str]) -> click.UsageError | None:
    """`-auto-approve`, `-out=plan.json`, `-var x=1` (Terraform's one-dash long options): the
    error names each with the two dashes yottactl's options take. Short options (`-o json`,
    `-ojson`) are left alone: their letters never spell one of the command's long options."""
    longs = {opt for p in command.params for opt in getattr(p, "opts", []) if opt.startswith("--")}
    fixes = []
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg.partition("=")
            if "-" + name in longs:
                fixes.append((arg, f"-{name}{eq}{value}"))
    if not fixes:
        return None
    wrong = ", ".join(a for a, _ in fixes)
    right = " ".join(r for _, r in fixes)
    return click.UsageError(f"{wrong}: yottactl's long options take two dashes "
                            f"(Terraform takes one): type {right}")
