"""A minimal PostgREST stand-in, so supabase-py can be tested against real Postgres.

PostgREST cannot be installed here. This serves only the subset supabase-py
sends for benchq's calls (read from postgrest-py's request builders):

* `POST /rest/v1/rpc/<fn>` with a JSON object of named arguments: runs
  `public.<fn>(name => value, ...)`; a set-returning function answers a JSON
  array of rows, any other its value as JSON. A JSON array given for an
  array-typed argument (`text[]`, as the original's `p_tags`) becomes a
  Postgres array, as PostgREST does.
* `GET|HEAD /rest/v1/<table or view>?select=a,b&col=op.value&order=c.desc&limit=&offset=`
  with the operators eq, neq, gt, gte, lt, lte, is, in, like, ilike (and
  `not.`), and `Prefer: count=exact` answered in `Content-Range`.

Every request runs in its own transaction as the role named by the JWT's
`role` claim (`Authorization: Bearer`, else the `apikey` header; none: anon),
via SET LOCAL ROLE, with `request.jwt.claims` set as PostgREST does: so
grants and row-level security are the database's own. Errors are PostgREST's
JSON shape (`code`, `message`, `details`, `hint`) and HTTP status mapping.
"""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
import psycopg
from psycopg import sql

ROLES = ("anon", "authenticated", "service_role", "benchq_reader")
"""Roles a key may name; on Supabase, those `authenticator` is a member of."""
_OPERATORS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
}
_RESERVED = {"select", "order", "limit", "offset", "columns", "on_conflict"}


def make_key(role: str, secret: str) -> str:
    """An API key as Supabase issues them: an HS256 JWT whose `role` claim names the role."""
    return jwt.encode({"role": role, "iss": "benchq-standin"}, secret, algorithm="HS256")


class RestError(Exception):
    """An error answered in PostgREST's JSON shape."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "code": code,
            "message": message,
            "details": extra.get("details"),
            "hint": extra.get("hint"),
        }


def _status_of(sqlstate: str, role: str) -> int:
    """PostgREST's SQLSTATE to HTTP status table (the parts that can occur here)."""
    if sqlstate == "42501":
        return 401 if role == "anon" else 403
    for prefix, status in (
        ("08", 503),
        ("53", 503),
        ("0L", 403),
        ("0P", 403),
        ("28", 403),
        ("23503", 409),
        ("23505", 409),
        ("25006", 405),
        ("P0001", 400),
        ("42883", 404),
        ("42P01", 404),
        ("P0", 500),
        ("XX", 500),
        ("25", 500),
        ("40", 500),
        ("54", 500),
        ("55", 500),
        ("57", 500),
    ):
        if sqlstate.startswith(prefix):
            return status
    return 400


class PostgrestStandin:
    """The server; `start()` returns its base URL (what SUPABASE_URL would be)."""

    def __init__(self, dsn: str, jwt_secret: str) -> None:
        self.dsn = dsn
        self.secret = jwt_secret
        self._pool: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()
        self._server: ThreadingHTTPServer | None = None
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request served, for tests to assert on."""

    def start(self) -> str:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        while not self._pool.empty():
            self._pool.get().close()

    # --- database side ---------------------------------------------------------

    def role_of(self, headers: Any) -> tuple[str, dict[str, Any]]:
        auth = headers.get("Authorization") or ""
        token = auth[7:] if auth.lower().startswith("bearer ") else headers.get("apikey")
        if not token:
            return "anon", {"role": "anon"}
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise RestError(401, "PGRST301", f"JWT invalid: {exc}") from None
        role = str(claims.get("role", "anon"))
        if role not in ROLES:
            raise RestError(401, "PGRST301", f"role {role!r} is not allowed")
        return role, claims

    def run(
        self, role: str, claims: dict[str, Any], query: sql.Composable, params: list[Any]
    ) -> Any:
        """Run one query as `role` in its own transaction; return its single value."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(self.dsn, autocommit=True)
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                conn.execute(
                    "SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),)
                )
                row = conn.execute(query, params).fetchone()
        except psycopg.Error as exc:
            if conn.closed or isinstance(exc, psycopg.OperationalError):
                conn.close()
            state = exc.sqlstate or "08000"
            diag = exc.diag
            raise RestError(
                _status_of(state, role),
                state,
                diag.message_primary or str(exc),
                details=diag.message_detail,
                hint=diag.message_hint,
            ) from None
        except BaseException:
            conn.close()
            raise
        if not conn.closed:
            self._pool.put(conn)
        return row

    def function(self, name: str, args: dict[str, Any]) -> tuple[sql.Composable, list[Any]]:
        """The call of `public.<name>` whose named inputs match `args`, as PostgREST picks it."""
        conn = psycopg.connect(self.dsn, autocommit=True)
        try:
            rows = conn.execute(
                "SELECT p.proretset, t.typtype, p.pronargs, p.pronargdefaults, "
                "p.proargnames, p.proargmodes, "
                "ARRAY(SELECT format_type(x, NULL) FROM unnest(p.proargtypes) x) "
                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "JOIN pg_type t ON t.oid = p.prorettype "
                "WHERE n.nspname = 'public' AND p.proname = %s",
                (name,),
            ).fetchall()
        finally:
            conn.close()
        match = None
        for row in rows:
            nargs, ndefaults, names, modes = row[2], row[3], row[4], row[5]
            inputs = [
                n for i, n in enumerate(names or []) if modes is None or modes[i] in ("i", "b", "v")
            ]
            required = set(inputs[: nargs - ndefaults])
            if set(args) <= set(inputs) and required <= set(args):
                match = row
                break
        if match is None:
            raise RestError(
                404,
                "PGRST202",
                f"Could not find the function public.{name}({', '.join(args)}) in the schema cache",
            )
        retset, typtype, types = match[0], match[1], match[6]
        type_of = dict(zip(inputs, types, strict=True))
        call = sql.SQL("{}.{}({})").format(
            sql.Identifier("public"),
            sql.Identifier(name),
            sql.SQL(", ").join(
                sql.SQL("{} => %s::{}").format(sql.Identifier(k), sql.SQL(type_of[k])) for k in args
            ),
        )
        params = [
            list(v) if isinstance(v, list) and type_of[k].endswith("[]") else _param(v)
            for k, v in args.items()
        ]
        if retset:
            query = sql.SQL("SELECT coalesce(json_agg(r), '[]'::json) FROM {} r").format(call)
        elif typtype == "c":
            query = sql.SQL("SELECT to_json(r) FROM {} r").format(call)
        else:
            query = sql.SQL("SELECT to_json({})").format(call)
        return query, params

    def relation(
        self, name: str, query: list[tuple[str, str]], count: bool
    ) -> tuple[sql.Composable, list[Any]]:
        """SELECT json rows (and, with `count`, the total) of a filtered, ordered relation."""
        columns: sql.Composable = sql.SQL("*")
        where: list[sql.Composable] = []
        params: list[Any] = []
        order: list[sql.Composable] = []
        limit = offset = None
        for key, value in query:
            if key == "select":
                names = [c.strip() for c in value.split(",") if c.strip()]
                if names != ["*"]:
                    columns = sql.SQL(", ").join(sql.Identifier(c) for c in names)
            elif key == "order":
                for term in value.split(","):
                    col, *mods = term.split(".")
                    direction = "DESC" if "desc" in mods else "ASC"
                    nulls = (
                        " NULLS FIRST"
                        if "nullsfirst" in mods
                        else (" NULLS LAST" if "nullslast" in mods else "")
                    )
                    order.append(sql.SQL("{} " + direction + nulls).format(sql.Identifier(col)))
            elif key == "limit":
                limit = int(value)
            elif key == "offset":
                offset = int(value)
            elif key not in _RESERVED:
                where.append(_filter(key, value, params))
        inner = sql.SQL("SELECT {} FROM {}.{}").format(
            columns, sql.Identifier("public"), sql.Identifier(name)
        )
        if where:
            inner = sql.SQL("{} WHERE {}").format(inner, sql.SQL(" AND ").join(where))
        total = (
            sql.SQL("(SELECT count(*) FROM ({}) c)").format(inner)
            if count
            else sql.SQL("NULL::bigint")
        )
        count_params = list(params) if count else []
        if order:
            inner = sql.SQL("{} ORDER BY {}").format(inner, sql.SQL(", ").join(order))
        if limit is not None:
            inner = sql.SQL("{} LIMIT {}").format(inner, sql.Literal(limit))
        if offset is not None:
            inner = sql.SQL("{} OFFSET {}").format(inner, sql.Literal(offset))
        full = sql.SQL("SELECT coalesce(json_agg(r), '[]'::json), count(r), {} FROM ({}) r").format(
            total, inner
        )
        return full, count_params + params

    def relation_exists(self, name: str) -> bool:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = %s AND c.relkind IN ('r','v','m','p')",
                (name,),
            ).fetchone()
        return row is not None


def _param(value: Any) -> str | None:
    """A JSON argument as the text Postgres casts to the declared parameter type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _filter(column: str, expr: str, params: list[Any]) -> sql.Composable:
    negate = expr.startswith("not.")
    if negate:
        expr = expr[4:]
    op, _, value = expr.partition(".")
    ident = sql.Identifier(column)
    if op in _OPERATORS:
        params.append(value)
        # Compared as text cast to the column's type, as PostgREST does.
        cond = sql.SQL("{} " + _OPERATORS[op] + " %s").format(ident)
    elif op == "is":
        if value not in ("null", "true", "false", "unknown"):
            raise RestError(400, "PGRST100", f"invalid is. value {value!r}")
        cond = sql.SQL("{} IS " + value.upper()).format(ident)
    elif op == "in":
        items = [unquote(v).strip('"') for v in value.strip("()").split(",") if v]
        params.append(items)
        cond = sql.SQL("{}::text = ANY(%s)").format(ident)
    else:
        raise RestError(400, "PGRST100", f"unsupported operator {op!r} on {column}")
    return sql.SQL("NOT ({})").format(cond) if negate else cond


class _Handler(BaseHTTPRequestHandler):
    owner: PostgrestStandin
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._handle(head=False)

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def _handle(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        self.owner.requests.append((self.command, url.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if not url.path.startswith("/rest/v1/"):
                raise RestError(404, "PGRST125", f"invalid path {url.path}")
            target = url.path.removeprefix("/rest/v1/")
            role, claims = self.owner.role_of(self.headers)
            if self.command == "POST" and target.startswith("rpc/"):
                args = json.loads(body or b"{}")
                if not isinstance(args, dict):
                    raise RestError(400, "PGRST102", "rpc arguments must be a JSON object")
                query, params = self.owner.function(target[4:], args)
                (value,) = self.owner.run(role, claims, query, params)
                self._reply(200, json.dumps(value).encode())
                return
            if self.command not in ("GET", "HEAD") or "/" in target:
                raise RestError(405, "PGRST117", f"unsupported {self.command} {url.path}")
            if not self.owner.relation_exists(target):
                raise RestError(
                    404,
                    "PGRST205",
                    f"Could not find the table 'public.{target}' in the schema cache",
                )
            count = "count=exact" in (self.headers.get("Prefer") or "")
            query, params = self.owner.relation(target, parse_qsl(url.query), count)
            rows, n, total = self.owner.run(role, claims, query, params)
            offset = int(dict(parse_qsl(url.query)).get("offset", 0))
            span = f"{offset}-{offset + n - 1}" if n else "*"
            extra = {"Content-Range": f"{span}/{total if count else '*'}"}
            self._reply(200, b"" if head else json.dumps(rows).encode(), extra)
        except RestError as exc:
            self._reply(exc.status, json.dumps(exc.body).encode())
        except psycopg.OperationalError as exc:
            # PostgREST answers 503 PGRST000 when it cannot reach its database.
            body = {
                "code": "PGRST000",
                "message": "Database connection error",
                "details": str(exc),
                "hint": None,
            }
            self._reply(503, json.dumps(body).encode())

    def _reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
