import test from 'ava';
import { selectedName } from './server';

test("a list or watch limited to one name by its fieldSelector names it for the authorizer, as Kubernetes' RequestInfo", (t) => {
  t.is(selectedName('Secret', 'metadata.name=db'), 'db');
  t.is(selectedName('Secret', 'metadata.name==db'), 'db');
  t.is(selectedName('Secret', 'type=Opaque,metadata.name=db'), 'db');
  t.is(selectedName('Secret', 'metadata.name!=db'), '', 'a negation selects many');
  t.is(selectedName('Secret', 'type=Opaque'), '');
  t.is(selectedName('Secret', undefined), '');
  t.is(selectedName('Secret', 'spec.bogus=1,metadata.name=db'), '', 'a selector the server refuses names nothing');
  // An escaped comma cannot smuggle a name term in: the whole is one value of type.
  t.is(selectedName('Secret', 'type=a\\,metadata.name\\=db'), '');
});
