"""Auto-instrumentation admission webhook (`python -m collector operator`).

Mirrors the OpenTelemetry Operator's pod mutation: pods annotated
`instrumentation.opentelemetry.io/inject-<lang>` get the language's agent copied in by an init
container and the SDK environment, as configured by an `Instrumentation` resource
(`opentelemetry.io/v1alpha1`).

Modules:
  instrumentation.py  the Instrumentation spec (defaults as the operator's defaulting webhook)
  store.py            where Instrumentations come from (YAML file, or the k8s watch layer)
  languages.py        per-language injection (java, nodejs, python, dotnet, go)
  sdk_env.py          the common SDK env: service name, resource attributes, exporter, sampler
  mutator.py          annotation handling: which Instrumentation, which containers, idempotency
  jsonpatch.py        RFC 6902 diff between the original and the mutated pod
  webhook.py          the HTTPS AdmissionReview server
  cli.py              command-line options and main()
"""
