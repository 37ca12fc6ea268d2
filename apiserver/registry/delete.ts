// One object's delete as every transport serves it: a Namespace goes through
// its lifecycle (which deletes the content first), any other kind through its
// registry. Shared by the gRPC and REST APIs so the rule has one home.

import type { ApiObject, KindName } from '../../api/kinds';
import type { DeleteRequest } from '../../api/gen/tsk/v1/meta';
import type { NamespaceLifecycle } from './namespaces';
import { parsePropagationPolicy } from './propagation';
import type { Registry, WriteAdmission } from './store';

export function deleteObject(kind: KindName, reg: Registry, namespaces: NamespaceLifecycle, req: DeleteRequest, admission: WriteAdmission): Promise<ApiObject> {
  if (kind !== 'Namespace') return reg.delete(req, admission);
  // The namespace lifecycle deletes the content itself; the policy is only checked.
  parsePropagationPolicy(kind, req.name ?? '', req.propagationPolicy);
  return namespaces.delete(req.name, req.preconditions?.uid);
}
