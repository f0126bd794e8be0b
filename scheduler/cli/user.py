"""``tingfeng user add|list|passwd|role|token|remove``: the web app's accounts, kept in the
``WEB_DB`` file (default ``<data dir>/web.db``), apart from the store."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web.accounts import Accounts

__all__ = ["register"]

ROLES = ("viewer", "analyst", "admin")
ABOUT = """\
Roles: viewer reads everything; analyst also edits monitors and reviews alerts; admin also
manages users. Users live in WEB_DB (TINGFENG_WEB_DB; default <data dir>/web.db), never in
the store."""
EXAMPLES = {
    "add": "  tingfeng user add li --role admin                 # asks for the password twice\n"
           "  tingfeng user add bot --role viewer --token       # prints an API token, once\n"
           "  tingfeng user add wang --role analyst --password-stdin < password.txt",
    "list": "  tingfeng user list",
    "passwd": "  tingfeng user passwd wang                         # signs wang out everywhere",
    "role": "  tingfeng user role wang viewer",
    "token": "  tingfeng user token bot              # a new token; the old one stops working\n"
             "  tingfeng user token bot --revoke",
    "remove": "  tingfeng user remove wang",
}
EPILOG = "examples:\n" + "\n".join(EXAMPLES.values()) + "\n\n" + ABOUT


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = sub.add_parser(
        "user", help="web app accounts: add, list, passwd, role, token, remove", epilog=EPILOG,
        description="Accounts of the web app (`tingfeng serve`), with roles and API tokens.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    usub = top.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    def action(name: str, helptext: str, func: object) -> argparse.ArgumentParser:
        p = usub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:],
                            epilog=f"examples:\n{EXAMPLES[name]}\n\n{ABOUT}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--web-db", metavar="PATH", help="user database (default: WEB_DB)")
        p.set_defaults(func=func)
        return p

    p = action("add", "create an account", cmd_add)
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, default="viewer", help="default: viewer")
    p.add_argument("--token", action="store_true", help="also create an API token (shown once)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    action("list", "list accounts (never a password or token)", cmd_list)
    p = action("passwd", "set a new password and end the user's sessions", cmd_passwd)
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    p = action("role", "change an account's role", cmd_role)
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    p = action("token", "issue a new API token (shown once) or revoke it", cmd_token)
    p.add_argument("name")
    p.add_argument("--revoke", action="store_true", help="remove the token instead")
    p = action("remove", "delete an account with its sessions and token", cmd_remove)
    p.add_argument("name")


def _accounts(args: argparse.Namespace) -> Accounts:
    from scheduler.cli.common import settings_for
    from scheduler.cli.serve import web_import

    accounts = web_import("web.accounts")
    path = args.web_db or accounts.web_db_path(settings_for(args))
    opened: Accounts = accounts.Accounts(path)
    return opened


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _password(args: argparse.Namespace) -> str:
    from crawlers.errors import ConfigError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to ask for the password: pipe it with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ; nothing was changed")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        user = accounts.add_user(args.name, args.role, _password(args))
        accounts.audit(_actor(), "user.add", user.username, {"role": user.role})
        print(f"added {user.username} ({user.role}) to {accounts.path}", file=sys.stderr)
        if args.token:
            print(accounts.issue_token(user.username))
            accounts.audit(_actor(), "user.token", user.username)
            print("this API token is shown once: store it now "
                  "(Authorization: Bearer …)", file=sys.stderr)
    finally:
        accounts.close()
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        users = accounts.users()
    finally:
        accounts.close()
    if not users:
        print("no users yet: tingfeng user add NAME --role admin", file=sys.stderr)
    for u in users:
        last = f"{u.last_login_at:%Y-%m-%d %H:%M} UTC" if u.last_login_at else "never"
        token = "token" if u.has_token else "-"
        print(f"{u.username}  {u.role}  last login: {last}  {token}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        accounts.set_password(args.name, _password(args))
        accounts.audit(_actor(), "user.passwd", args.name)
    finally:
        accounts.close()
    print(f"changed the password of {args.name}; their sessions have ended", file=sys.stderr)
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        accounts.set_role(args.name, args.role)
        accounts.audit(_actor(), "user.role", args.name, {"role": args.role})
    finally:
        accounts.close()
    print(f"{args.name} is now {args.role}", file=sys.stderr)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        if args.revoke:
            accounts.revoke_token(args.name)
            accounts.audit(_actor(), "user.token_revoke", args.name)
            print(f"revoked the API token of {args.name}", file=sys.stderr)
        else:
            print(accounts.issue_token(args.name))
            accounts.audit(_actor(), "user.token", args.name)
            print("this API token is shown once (any older one no longer works)",
                  file=sys.stderr)
    finally:
        accounts.close()
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError

    accounts = _accounts(args)
    try:
        if not accounts.remove_user(args.name):
            raise ConfigError(f"no user {args.name!r}: `tingfeng user list` shows them")
        accounts.audit(_actor(), "user.remove", args.name)
    finally:
        accounts.close()
    print(f"removed {args.name} (their sessions and token are gone)", file=sys.stderr)
    return 0
