import test from 'ava';
import { decodeReviewProtobuf } from './protobuf-review';

// What kubectl 1.32 sends for `kubectl auth can-i create pods` (from its -v=8 log).
const CAN_I_CREATE_PODS = Buffer.from(
  '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f763112175365' +
    '6c665375626a6563744163636573735265766965771' +
    '23f0a100a0012001a0022002a0032003800420012210a1f0a0764656661756c7412066372656174651a0022002a04706f647332003a001a0808001200' +
    '1a0020001a002200',
  'hex',
);

test("kubectl's protobuf SelfSubjectAccessReview decodes to its spec", (t) => {
  t.deepEqual(decodeReviewProtobuf(CAN_I_CREATE_PODS), {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } },
  });
});

test('a body without the envelope, or cut short, is a BadRequest', (t) => {
  t.throws(() => decodeReviewProtobuf(Buffer.from('{}')), { message: /"k8s\\0" envelope/ });
  t.throws(() => decodeReviewProtobuf(CAN_I_CREATE_PODS.subarray(0, 30)), { message: /does not decode|has no object/ });
});
