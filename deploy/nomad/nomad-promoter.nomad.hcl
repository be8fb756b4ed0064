# nomad-promoter as a Nomad service job (docker driver, image built from the repository's Dockerfile).
#
# 1. ACL policy and token (docs/acl.md):
#      nomad acl policy apply -description "nomad-promoter" nomad-promoter deploy/nomad/acl-nomad2.hcl   # Nomad 1.x: acl-nomad1.hcl
#      nomad acl token create -name nomad-promoter -policy nomad-promoter
# 2. Store the token's SecretID where only this job can read it (Nomad Variables, 1.4+):
#      nomad var put -namespace default nomad/jobs/nomad-promoter token=<SecretID>
# 3. nomad job run deploy/nomad/nomad-promoter.nomad.hcl
#
# Two allocations on different clients run in HA (docs/ha.md): they contend for a lock on the
# Nomad Variable nomad-promoter/leader; the holder acts, the other keeps its view of Nomad warm
# and takes over when the holder stops (at once on a clean stop, within 2 x TTL + LockDelay =
# 45 s after a crash or a lost client). The ACL policies grant the Variables access this needs.
#
# Nomad >= 1.7, without a stored token: give the task a workload identity (`identity { env = true }`
# below, which sets NOMAD_TOKEN), delete the token template, and bind the ACL policy to this job:
#      nomad acl policy apply -namespace default -job nomad-promoter \
#        -description "nomad-promoter" nomad-promoter-wi deploy/nomad/acl-nomad2.hcl
# The identity is signed by the cluster and needs no rotation by you.

variable "image" {
  type        = string
  default     = "nomad-promoter:0.1.0"
  description = "Image built from the repository's Dockerfile, pushed to a registry the clients can pull from."
}

job "nomad-promoter" {
  type = "service"

  # The promoter never governs its own deployments. (Map form: a Meta key with dots is not an
  # HCL identifier, so it cannot be written as a `meta { ... }` block attribute.)
  meta = {
    "nomad-promoter.policy" = "none"
  }

  group "promoter" {
    # A leader and a standby. Only the lock holder acts, so more allocations are safe; without
    # PROMOTER_HA (below) this must be 1: promoters without a leader act on the same deployments.
    count = 2

    # On different clients, so losing one leaves the other to take over.
    constraint {
      distinct_hosts = true
    }

    # One allocation at a time: the other keeps leading or takes over (a stopping leader
    # releases the lock). The next old allocation is stopped only once its replacement passes
    # both checks, /readyz included: it has read Nomad and is able to lead. No canary: it would
    # wait for a promotion, and the promoter does not govern itself.
    update {
      max_parallel      = 1
      canary            = 0
      health_check      = "checks"
      min_healthy_time  = "10s"
      healthy_deadline  = "3m"
      progress_deadline = "5m"
      auto_revert       = true
    }

    network {
      port "http" {
        to = 9646
      }
    }

    service {
      name     = "nomad-promoter"
      provider = "nomad"
      port     = "http"
      tags     = ["metrics"]

      check {
        name     = "alive"
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "3s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }

      # Healthy for the update only once the allocation has read Nomad (a standby is ready too).
      check {
        name     = "ready"
        type     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "3s"
      }
    }

    task "promoter" {
      driver = "docker"
      # The image's distroless nonroot user.
      user = "65532:65532"

      config {
        image           = var.image
        args            = ["run"]
        ports           = ["http"]
        readonly_rootfs = true
        cap_drop        = ["all"]
        security_opt    = ["no-new-privileges"]

        # The only writable path inside the container besides Nomad's task directories.
        mount {
          type     = "tmpfs"
          target   = "/tmp"
          readonly = false
          tmpfs_options {
            size = 67108864
          }
        }
      }

      # Nomad >= 1.7 alternative to the token template below (see the top of this file).
      # identity {
      #   env = true
      # }

      env {
        # The local client agent; use https:// and NOMAD_CACERT=/secrets/ca.pem on a TLS cluster.
        NOMAD_ADDR         = "http://${attr.unique.network.ip-address}:4646"
        NOMAD_NAMESPACE    = "*"
        PROMOTER_POLICIES  = "/local/policies"
        PROMOTER_LOG_LEVEL = "info"
        # Decisions kept in Nomad Variables (nomad-promoter/deployments/<id> in "default", as the
        # watched namespace is "*"), so the next leader continues from them; HA requires it.
        PROMOTER_STATE = "nomad"
        PROMOTER_HA    = "true"
        # The allocation ID: how standbys and `nomad-promoter status` name the leader.
        PROMOTER_HA_IDENTITY = "${NOMAD_ALLOC_ID}"
        # Defaults, written out to be tuned: a crashed leader is replaced after 2 x TTL + delay.
        PROMOTER_HA_LOCK_PATH  = "nomad-promoter/leader"
        PROMOTER_HA_LOCK_TTL   = "15s"
        PROMOTER_HA_LOCK_DELAY = "15s"
        # Prometheus for checks that name no address:
        # PROMOTER_PROMETHEUS_ADDR = "http://prometheus.service.consul:9090"
      }

      # The ACL token, from Nomad Variables: readable by this job's tasks only. The daemon reads
      # its environment at start, so a new token restarts the task.
      template {
        destination = "secrets/nomad-token.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/nomad-promoter" }}NOMAD_TOKEN={{ .token }}{{ end }}
        EOT
      }

      # Policies (docs/policy.md). The daemon reloads on file change and on SIGHUP; this template
      # sends SIGHUP after rendering, so an edit applies at once whether or not file events cross
      # the bind mount. A second reload of an unchanged set is harmless, and an invalid edit is
      # logged while the last valid set stays in force.
      # Delimiters are [[ ]] so the policies' own {{ placeholders }} reach the daemon untouched.
      template {
        destination     = "local/policies/policies.yaml"
        change_mode     = "signal"
        change_signal   = "SIGHUP"
        left_delimiter  = "[["
        right_delimiter = "]]"
        data            = <<-EOT
          # Governs task groups of jobs with Meta promoter = "enabled" (or pinned with
          # Meta nomad-promoter.policy = "example-canary"). Dry-run until you switch mode to enforce.
          name: example-canary
          match:
            meta: { promoter: enabled }
          mode: dry-run
          checks:
            service-checks:
              scope: allocation
              nomad: {}
              pass: "checks.all(c, c.status == 'success')"
              interval: 10s
              count: 3
          canary:
            analysis: [service-checks]
            bake: 5m
            promote: auto
            timeout: 1h
            onTimeout: fail
          onFailure:
            rollback: auto
        EOT
      }

      # Time to finish in-flight Nomad calls after SIGTERM.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 100
        memory = 192
      }
    }
  }
}
