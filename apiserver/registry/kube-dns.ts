// The kube-dns Service in kube-system, kept by the API server as kubeadm
// keeps CoreDNS's: its ClusterIP is the cluster DNS address, so the service
// IP allocator never gives that address to another Service (asking for it
// explicitly gets "provided IP is already allocated"), and every agent
// learns the address and the cluster domain from it (api/cluster-dns.ts).
// Created at start when missing (a deleted one comes back at the next
// start); an existing one is left as it is.

import { AlreadyExistsError, ApiError, NotFoundError } from '../../api/errors';
import { KUBE_DNS_NAME, KUBE_DNS_NAMESPACE, kubeDnsService, publishedClusterDNS } from '../../api/cluster-dns';
import type { Service } from '../../api/gen/tsk/v1/core';
import { errorMessage } from '../../util/errors';
import type { Registry } from './store';

export async function ensureKubeDnsService(services: Registry, ip: string, domain: string, log: (msg: string) => void): Promise<void> {
  // Looked up first: a create of the existing Service would fail on its
  // address (allocated, to itself) before its name, and say the wrong thing.
  const current = await services.get(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (current) return checkExisting(current as Service, ip, domain, log);
  try {
    await services.create(kubeDnsService(ip, domain));
    log(`created service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME} for the cluster DNS at ${ip} (domain ${domain})`);
    return;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) {
      // Another Service holds the address: the cluster runs, without cluster DNS, and says why.
      if (err instanceof ApiError) {
        log(`cannot create service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME} at ${ip}: ${errorMessage(err)}; pods get no cluster DNS`);
        return;
      }
      throw err;
    }
  }
  checkExisting((await services.get(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME)) as Service, ip, domain, log);
}

/** An existing kube-dns is left as it is; a mismatch with the flags is said. */
function checkExisting(svc: Service, ip: string, domain: string, log: (msg: string) => void): void {
  const existing = publishedClusterDNS(svc);
  if (existing && (existing.ip !== ip || existing.domain !== domain)) {
    log(
      `service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME} publishes ${existing.ip} (domain ${existing.domain}), not --cluster-dns ${ip} --cluster-domain ${domain}: delete it and restart to change`,
    );
  }
}
