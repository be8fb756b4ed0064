# ACL policy for nomad-promoter on Nomad 2.0 and later: only the deployment actions it takes.
#   nomad acl policy apply -description "nomad-promoter" nomad-promoter deploy/nomad/acl-nomad2.hcl
#   nomad acl token create -name nomad-promoter -policy nomad-promoter
#
# No submit-job: the token can promote, fail, pause/resume and set allocation health of
# deployments, and revert a job to an earlier version, but cannot register or change a job.
# Narrow the namespace glob to the namespaces your policies govern. Table: docs/acl.md.

namespace "*" {
  capabilities = [
    "list-jobs",
    "read-job",
    "promote-deployment",
    "fail-deployment",
    "set-alloc-health-deployment",
    "pause-deployment",
    "revert-job",
  ]

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
