package handleserver

import (
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/handlewire"
)

// Permissions of a rendered value. Administrators may always read and
// write (writes go through idres, whose own policy decides); the public
// reads what the answer path marked public_read.
const (
	permPublic  = handlewire.PermPublicRead | handlewire.PermAdminRead | handlewire.PermAdminWrite
	permPrivate = handlewire.PermAdminRead | handlewire.PermAdminWrite
)

// toWire renders idres values as Handle values: index, type and data
// unchanged, the TTL relative (type 0; absent is value.DefaultTTL), the
// timestamp in whole seconds, no references.
func toWire(vals []*idresv1.Value) []handlewire.Value {
	out := make([]handlewire.Value, len(vals))
	for i, v := range vals {
		w := handlewire.Value{
			Index: v.GetIndex(), TTL: value.DefaultTTL, Permissions: permPublic,
			Type: []byte(v.GetType()), Data: v.GetData(),
		}
		if v.Ttl != nil {
			w.TTL = v.GetTtl()
		}
		if v.PublicRead != nil && !v.GetPublicRead() {
			w.Permissions = permPrivate
		}
		if ts := v.GetTimestamp(); ts != nil && ts.GetSeconds() > 0 && ts.GetSeconds() <= 1<<32-1 {
			w.Timestamp = uint32(ts.GetSeconds())
		}
		out[i] = w
	}
	return out
}

// referralBody is what a referral to d carries: the delegated prefix's
// handle 0.NA/<prefix> and its service values, among them one HS_SITE per
// Handle address of the child, which is what hdllib reads to re-send the
// request there.
func referralBody(d *idresv1.Delegation) handlewire.HandleValues {
	return handlewire.HandleValues{
		Handle: []byte(ident.PrefixHandlePrefix + "/" + d.GetPrefix()),
		Values: toWire(resolver.ServiceValues(d)),
	}
}
