// Package core holds the directory logic above the store: token key hashing,
// and the first-start bootstrap of the default brand, the admin group, the
// akadmin user and its API token. Later issues add users, groups, roles and
// applications here.
package core
