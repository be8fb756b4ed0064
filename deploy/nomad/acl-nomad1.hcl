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

  # Nomad Variables under nomad-promoter/, with --state nomad and --ha (the Helm chart and the
  # Nomad job turn both on): each tracked deployment's decisions at nomad-promoter/deployments/<id>
  # (read, write with check-and-set, list at start, destroy when no longer tracked) and the lock
  # nomad-promoter/leader (acquire, renew and release are writes; standbys read who holds it).
  # In this "*" block because a block for one namespace would replace it there, not add to it.
  variables {
    path "nomad-promoter/*" {
      capabilities = ["read", "write", "list", "destroy"]
    }
  }
}
