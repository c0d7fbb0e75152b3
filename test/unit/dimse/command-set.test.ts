import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dimse from 'dcmjs-dimse';
import { encodeCommandSet } from '../../../src/dimse/command-set.ts';

describe('command set encoder', () => {
  test('writes exactly the bytes the library writes, for the responses we send', () => {
    const echo = new dimse.requests.CEchoRequest();
    echo.setMessageId(7);
    const echoResponse = dimse.responses.CEchoResponse.fromRequest(echo);
    echoResponse.setStatus(0);
    const find = new dimse.requests.CFindRequest();
    find.setMessageId(65535);
    find.setAffectedSopClassUid('1.2.840.10008.5.1.4.31');
    const findResponse = dimse.responses.CFindResponse.fromRequest(find);
    findResponse.setAffectedSopClassUid('1.2.840.10008.5.1.4.31');
    findResponse.setStatus(0xff00);
    findResponse.setDataset(new dimse.Dataset({ AccessionNumber: 'A1' }, '1.2.840.10008.1.2.1'));
    findResponse.setErrorComment('unavailable');
    for (const response of [echoResponse, findResponse]) {
      const dataset = response.getCommandDataset();
      assert.deepEqual(encodeCommandSet(dataset.getElements()), dataset.getDenaturalizedCommandDataset());
    }
  });

  test('leaves what it does not know to the library', () => {
    assert.equal(encodeCommandSet({ CommandField: 0x8030, OffendingElement: [0x00100010] }), undefined);
    assert.equal(encodeCommandSet({ CommandField: 70000 }), undefined);
    assert.equal(encodeCommandSet({ ErrorComment: 'Müller' }), undefined);
  });
});
