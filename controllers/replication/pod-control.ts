// The replication controller's writes (Kubernetes' PodControlInterface plus
// the ControllerRefManager's adopt/release patches), behind an interface so
// unit tests count calls instead of talking to a server.

import { ConflictError, NotFoundError } from '../../api/errors';
import type { Pod, ReplicationController } from '../../api/gen/tsk/v1/core';
import type { OwnerReference } from '../../api/gen/tsk/v1/meta';
import type { Clientset } from '../../client';

export interface PodControl {
  /** Creates a pod; resolves with the stored pod. */
  createPod(pod: Pod): Promise<Pod>;
  /** Deletes the pod `name` if its uid is still `uid`; NotFoundError or ConflictError when it is gone. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
  /**
   * Re-reads the pod and, if `change` returns new owner references for it,
   * writes them (retrying when the pod changed meanwhile). Resolves with
   * false when the pod is gone (or is another pod now) or `change` declined.
   */
  updateOwnerReferences(namespace: string, name: string, uid: string, change: (pod: Pod) => OwnerReference[] | undefined): Promise<boolean>;
  /** A fresh read of an RC (adoption checks it still exists with the same uid). */
  getController(namespace: string, name: string): Promise<ReplicationController>;
  /** Writes the RC's status subresource; ConflictError when rc is stale. */
  updateControllerStatus(rc: ReplicationController): Promise<ReplicationController>;
}

const UPDATE_ATTEMPTS = 5;

export class ApiPodControl implements PodControl {
  constructor(private readonly clientset: Clientset) {}

  createPod(pod: Pod): Promise<Pod> {
    return this.clientset.pods.create(pod);
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    await this.clientset.pods.delete(name, { namespace, preconditions: { uid } });
  }

  async updateOwnerReferences(namespace: string, name: string, uid: string, change: (pod: Pod) => OwnerReference[] | undefined): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      let pod: Pod;
      try {
        pod = await this.clientset.pods.get(name, namespace);
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
      if (pod.metadata?.uid !== uid) return false;
      const refs = change(pod);
      if (!refs) return false;
      try {
        await this.clientset.pods.update({ ...pod, metadata: { ...pod.metadata, ownerReferences: refs } });
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        if (!(err instanceof ConflictError) || attempt + 1 >= UPDATE_ATTEMPTS) throw err;
      }
    }
  }

  getController(namespace: string, name: string): Promise<ReplicationController> {
    return this.clientset.replicationControllers.get(name, namespace);
  }

  updateControllerStatus(rc: ReplicationController): Promise<ReplicationController> {
    return this.clientset.replicationControllers.updateStatus(rc);
  }
}
