// Pins the Gateway API release whose standard-channel CRDs (config/crd/standard) the
// integration tests install; fetch-gateway-api-crds.sh copies them out of the module cache.
module gateway.local/gateway-api-crds

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3
