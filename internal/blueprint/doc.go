// Package blueprint reads authentik's blueprints: YAML files that declare
// objects (flows, stages, bindings, groups, providers...) for an identity
// provider to create, update or delete. It parses a file, checks its
// structure, orders its entries and resolves its custom YAML tags. Writing
// the objects is the importer's job; it uses this package through Parse,
// Order and a Resolver whose hooks (KeyOf, Find, FindObject) it implements.
//
// The format is authentik's, version 1:
// https://docs.goauthentik.io/customize/blueprints/v1/structure (file
// structure), .../v1/tags (YAML tags) and .../v1/example.
//
//	version: 1
//	metadata:
//	  name: Example
//	  labels: {blueprints.goauthentik.io/instantiate: "false"}
//	context:                        # defaults; the instance's context wins
//	  prefix: acme
//	entries:                        # a list, or a mapping of named lists
//	  - model: authentik_flows.flow # app_label.model_name
//	    id: flow                    # for !KeyOf
//	    state: present              # present | created | must_created | absent
//	    conditions: [!Context enabled]
//	    identifiers: {slug: !Format ["%s-login", !Context prefix]}
//	    attrs: {designation: authentication, title: Welcome}
//	    permissions:
//	      - {permission: view_flow, user: !Find [authentik_core.user, [username, akadmin]]}
//
// # Using it
//
//	bp, err := blueprint.Parse(data)      // structure checked, tags unresolved
//	order, err := blueprint.Order(bp)     // !KeyOf targets first; cycles refused
//	r := &blueprint.Resolver{
//		Context:   blueprint.MergeContext(builtins, bp.Context, instanceContext),
//		LookupEnv: os.LookupEnv, EnvPolicy: blueprint.DefaultEnvPolicy(),
//		FileRoot:  "/blueprints", KeyOf: ..., Find: ..., FindObject: ...,
//	}
//	for _, i := range order {
//		e := &bp.Entries[i]
//		ok, err := r.Conditions(e)    // skip the entry when false
//		ids, err := r.Identifiers(e)
//		attrs, err := r.Attrs(e)
//		perms, err := r.Permissions(e)
//		// find by ids, then create/update/delete per e.State
//	}
//
// Values before resolution are raw: nil, bool, int, float64, string, []any,
// map[string]any and Tag values (*KeyOf, *Find, ...). After resolution they
// are plain (no Tag), except that what KeyOf and Find return (primary keys)
// is passed through as is. Every error is an *Error naming the entry (index
// and model), the field ("attrs.stage", "permissions[0].user") and the line
// and column; the sentinels (ErrTooLarge, ErrCycle, ErrEnvNotAllowed...)
// classify them with errors.Is.
//
// # Tags
//
//	!KeyOf id                          primary key of the entry with that id (hook KeyOf)
//	!Find [model, [field, value]...]   primary key of the first match, or null (hook Find)
//	!FindObject [model, [f, v]...]     the first match serialized, or null (hook FindObject; authentik 2025.8)
//	!Env name | [name, default]        environment variable; empty or unset gives the default
//	!File path | [path, default]       file contents, trimmed; a missing file gives the default
//	!Context key | [key, default]      context value; "a.b.0" walks into mappings and lists (2026.5)
//	!Format [format, args...]          Python %-formatting (%s %d %r %x %f %%, flags, width, *)
//	!If [cond] | [cond, then, else]    Python truth of cond; only the chosen branch is resolved
//	!Condition [mode, args...]         AND NAND OR NOR XOR XNOR of truth values; EQ NEQ compare (==)
//	!Enumerate [iterable, SEQ|MAP, item]   item once per element of a list, mapping or string
//	!Index depth, !Value depth         key and value of the element of the !Enumerate depth levels up
//	!AtIndex [collection, key, default?]   list element (negative counts from the end) or mapping value
//	!ParseJSON text                    the JSON value
//
// Arguments of tags are themselves resolved, at any depth (authentik only
// resolves an argument that is itself a tag). Python semantics apply where
// authentik relies on them: truth values (empty string, list and mapping
// are false), == (1 == 1.0 == True), str() and repr() for %s and %r.
//
// # Instances
//
// Instances (instances.go) applies the blueprints a server keeps: the files
// of the blueprints dir, discovered by the worker (Discover), and
// blueprints stored in the database (the admin API's content). It records
// each instance's status, last applied hash (InstanceHash) and metadata in
// the store, applies an instance when its hash changed, and resolves
// authentik_blueprints.metaapplyblueprint entries by applying the named
// instance in the same transaction.
//
// # Limits
//
// A blueprint may come from a less trusted place than the server (an API
// upload, an OCI registry, a mounted directory), so parsing and resolving
// are bounded (Limits; zero fields take the defaults):
//
//   - Input: at most MaxBytes (8 MiB). One YAML document only.
//   - Nodes: at most MaxNodes (250,000) values, counting an alias or a
//     merge key ("<<") each time it is expanded, so "billion laughs"
//     documents fail fast. Before parsing, a document whose count of
//     structural marks ("- ", ": ", ",", "[", "{") exceeds MaxNodes is
//     refused, because the YAML library allocates every node before this
//     package can count them (about 180 bytes each).
//   - Depth: at most MaxDepth (100) levels of sequences, mappings and tag
//     arguments, in the file, in !ParseJSON values and in resolved values
//     (a !Context value spliced into another counts). An alias used inside
//     its own anchor, and a context value that refers to itself through
//     !Context, are errors.
//   - Resolution: a Resolver produces at most MaxNodes values and builds at
//     most MaxStringBytes (16 MiB) of strings (!Format, !File) over its
//     lifetime, so nested !Enumerate and repeated !Context or !Format
//     cannot multiply; a %-conversion's width and precision are at most
//     4096.
//   - !Env reads only what the EnvPolicy allows: names in its allow-list,
//     or names under one of its prefixes that do not look like secrets
//     (no PASSWORD, SECRET, KEY, TOKEN... word). The zero policy allows
//     nothing; DefaultEnvPolicy allows the bootstrap variables of
//     authentik's bootstrap blueprint. authentik itself reads any variable.
//   - !File reads only regular files under FileRoot, through os.Root:
//     relative paths without "..", absolute paths lexically inside the
//     root, no symbolic link out of it, no FIFO or device, at most
//     MaxFileBytes (1 MiB), UTF-8. Without a FileRoot, !File is refused.
//     authentik reads any path.
//
// # Differences from authentik
//
// Besides the limits above, this package is stricter than authentik where
// authentik's laxness hides mistakes, and deterministic where Go maps have
// no order:
//
//   - model, state and id must be plain scalars (authentik allows tags),
//     identifiers and attrs must be mappings, and model must look like
//     app_label.model_name.
//   - Unknown entry fields ("atrs") are errors (authentik's loader does
//     not check them), and so are mapping keys given twice (PyYAML keeps
//     the last). Unknown top-level keys are allowed: files use them to
//     hold anchors.
//   - Identifiers are required and non-empty, as in authentik's schema,
//     except for authentik_blueprints.metaapplyblueprint. No state waives
//     them: absent also needs them to find the object.
//   - Mapping keys must be scalars and become strings the way JSON writes
//     them (1 -> "1", true -> "true"). A tag cannot be a key.
//   - Mappings are iterated in key order: by !Enumerate, by repr() in
//     !Format, and when resolving (so the first error is always the same).
//   - As in PyYAML (YAML 1.1), plain yes/no/on/off are booleans; merge keys
//     ("<<") work.
//   - !Env name and !File path take the whole scalar as the name or path;
//     the "name, default" scalar form the docs mention is read by authentik
//     the same way (as one name), so use [name, default].
//   - !AtIndex on null with a default gives the default (authentik fails).
//   - !Condition EQ and NEQ with more than two arguments compare each with
//     the first. Conditions are checked in order and stop at the first
//     false one.
//   - Built-in context (ContextEnterpriseLicensed, ContextRBACModels) and
//     the pbm_uuid special case of !KeyOf for policy bindings are left to
//     the importer (see Resolver.KeyOf).
//   - Instances: a file labelled instantiate "false" gets a disabled
//     instance (authentik makes none); a metaapplyblueprint entry applies
//     its instance in the same transaction (authentik: a separate task),
//     so a failing dependency fails the blueprint; an instance that failed
//     is tried again at every discovery; a changed instance context makes
//     a new hash; tokens are never exported (their keys are kept hashed).
package blueprint
