// Package expr runs authentik-style expressions (expression policies,
// property mappings, prompt expressions) in a Starlark sandbox
// (go.starlark.net, a dialect of Python).
//
// An expression is the body of a Python function, as in authentik:
//
//	if ak_is_group_member(request.user, name="admins"):
//	    return True
//	ak_message("not allowed")
//	return False
//
// Compile it once; Run or Bool it per request:
//
//	p, err := expr.Compile("admins-only", source)
//	ok, res, err := p.Bool(ctx, expr.Env{Request: req, Helpers: h, Logger: log})
//
// # What an expression sees
//
// Variables: request (authentik's PolicyRequest: .user, .http_request,
// .obj, .context), context (the same dict as request.context),
// ak_client_ip (an ip_address, or None), and the names the caller declares
// in Options.Vars and fills in Env.Vars (prompt_data, user, provider...).
// request.user has username, name, email, pk, uuid, is_active,
// is_superuser, is_authenticated, is_anonymous, type, path, attributes (a
// dict) and groups (a list of group names; not a Django manager, so
// "admins" in request.user.groups, not .groups.filter(...)); str(user) is
// the username. request.http_request has method, path, host, remote_ip,
// headers (case-insensitive, read-only) and GET.
//
// Helpers, with authentik's names: ak_message, ak_logger
// (.debug/.info/.warning/.error with keyword fields), ak_is_group_member,
// ak_user_by, ak_user_has_authenticator, ak_call_policy (returns an object
// with .passing and .messages), ak_create_event, regex_match (re.search),
// regex_replace (re.sub, with \1 and \g<name>), ip_address, ip_network
// ("ak_client_ip in ip_network('10.0.0.0/8')"). The ak_* helpers that
// need the store call the caller's Helpers, so this package does not
// depend on it. ak_logger and print lines go to Result.Log (authentik's
// policy test shows them) and, at debug level only, to the Env's logger.
// Also pow and isinstance, which Starlark lacks.
//
// Not provided: requests, resolve_dns, reverse_dns, slugify, list_flatten,
// ak_send_email, ak_create_jwt, ak_create_jwt_raw, ak_is_sso_flow, and
// Python builtins outside Starlark (sum, map, filter, round, open...).
// Using one is a compile error that says so.
//
// # Compatibility with authentik's Python
//
// Works as in Python: if/elif/else, for, while, break/continue, def
// (nested functions and closures), lambda, list and dict comprehensions,
// conditional expressions, str/list/dict methods, % and str.format,
// slicing, in/not in, and/or/not, tuples, sets via set([...]).
// "x is None", "x is not None" and the same with True and False are
// accepted and mean == and != (which is exact for those three values).
//
// Rejected at compile time, with the line, column and what to write
// instead: import/from, try/except/finally, raise, class, with, global,
// nonlocal, del, assert, yield, async/await, decorators, f-strings, the
// ** operator (use pow), := , && and ||, is with other operands, chained
// comparisons (a < b < c), set literals, digit separators (1_000), load.
// Syntax errors report line:column.
//
// Different from Python at run time: strings are UTF-8 byte strings, so
// len("é") is 2 and upper() uses simple case mapping (ß stays ß); an
// error cannot be caught, it ends the run (the policy then fails);
// a function may not call itself (no recursion); type(x) returns a string
// ("string", "int"...); dict keys iterate in insertion order as in Python
// 3.7+.
//
// # Sandbox rules
//
// An expression cannot reach the file system, the network, the clock or
// randomness, or anything but its Env; results are deterministic for a
// given Env and Helpers. Every Run is bounded:
//
//   - Options.MaxSteps Starlark steps (default 1,000,000), which bounds
//     loops and most allocation;
//   - Options.MaxMemory bytes (default 32 MiB) for the operations whose
//     result grows with their operands: the compiler rewrites +, *, %,
//     |, &, ^, -, <<, their augmented forms, slicing, *args/**kwargs
//     and the growing methods (join, replace, format, split, upper,
//     extend, items...) into guards that charge the budget before the
//     allocation, and str, repr, list, sorted, dict, zip... are wrapped
//     likewise. So "x" * 10**9, list(range(10**9)) or doubling a string
//     in a loop fail at once with ErrMemoryLimit;
//   - integer results of *, << and pow of at most 16384 bits, and
//     int("...") of at most 4300 digits (as Python);
//   - the context: when it is done the interpreter is cancelled at its
//     next step. If it is stuck inside one long built-in operation (a
//     comparison or hash of a deeply shared structure is not
//     interruptible), Run still returns ErrTimeout shortly after the
//     deadline and the operation finishes in the background;
//   - 100 log lines, MaxSourceLen bytes of source, and MaxCallDepth
//     nested ak_call_policy runs.
//
// Panics inside the interpreter or a Helpers method are recovered and
// returned as errors.
//
// # How Compile works
//
//	source ──precheck──▶ Python constructs rejected, "is None" → "== None"
//	       ──parse─────▶ Starlark syntax tree (positions are the user's)
//	       ──rewrite───▶ growing operations → guard calls ($add, $slice...)
//	       ──wrap──────▶ def <expression>(request, context, ak_client_ip, vars...): body
//	       ──resolve, compile, init, freeze──▶ *Program
//
// The guard names start with "$", which source code cannot write, so an
// expression can neither call nor shadow them. A Program is immutable;
// each Run gets a fresh starlark.Thread carrying its state (messages,
// memory budget, Env), and converts request fields to Starlark values
// only when the expression reads them.
package expr
