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
}
