# ACL policy for nomad-promoter on Nomad 1.x.
#   nomad acl policy apply -description "nomad-promoter" nomad-promoter deploy/nomad/acl-nomad1.hcl
#   nomad acl token create -name nomad-promoter -policy nomad-promoter
#
# Nomad 1.x has no narrower capability for deployment actions: promote, fail, pause/resume,
# allocation health and job revert are all guarded by submit-job. submit-job also allows
# registering and stopping jobs, so keep this token as safe as an operator's token, narrow the
# namespace glob below to the namespaces your policies govern, and move to acl-nomad2.hcl on
# Nomad 2.0. For dry-run or `explain` only, drop submit-job. Table: docs/acl.md.

namespace "*" {
  capabilities = ["list-jobs", "read-job", "submit-job"]
}
