"""Django ORM adapters of the core's ``BorrowerRepository`` and ``ConsentRepository`` ports.

Identifier values and phone numbers go through ``PiiCipher`` (Transit encrypt/decrypt in
production) and identifiers are found by their keyed hash (Transit HMAC of ``lookup_input``), so
the tables never hold a national ID in plain text. Contracts: ``tests/contracts/borrower_repository.py``
and ``tests/contracts/consent_repository.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone

from letsema_api.borrowers import models
from letsema_core.borrowers import (
    Borrower,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    District,
    DuplicateIdentifier,
    DuplicateSuspicion,
    Gender,
)
from letsema_core.credit.keys import KeyedHasher, borrower_key
from letsema_core.errors import NotFound
from letsema_core.identity import REGISTRY_KEY_PREFERENCE, Identifier, IdentifierType, PhoneNumber


class PiiCipher(Protocol):
    """Reversible encryption of personal data (``VaultSecrets`` implements it with Transit)."""

    def encrypt_pii(self, text: str) -> str: ...

    def decrypt_pii(self, ciphertext: str) -> str: ...

    def decrypt_pii_many(self, ciphertexts: Sequence[str]) -> list[str]:
        """``decrypt_pii`` of each, in order, in as few round trips as the cipher allows."""
        ...


def _preferred_lookup_key(rows: Sequence[tuple[str, str]]) -> str | None:
    """The lookup key of the identifier the registry key is made from (``REGISTRY_KEY_PREFERENCE``), from a
    borrower's ``(type, lookup_key)`` rows in position order; None without one."""
    for id_type in REGISTRY_KEY_PREFERENCE:
        for row_type, key in rows:
            if row_type == id_type.value:
                return str(key)
    return None


def _key_name(hasher: KeyedHasher) -> str | None:
    """The Transit key a hasher digests under (``TransitKeyedHasher.key_name``; wrappers pass it through)."""
    name = getattr(hasher, "key_name", None)
    return name if isinstance(name, str) else None


def _duplicate(identifier: Identifier, existing_borrower_id: str | None) -> DuplicateIdentifier:
    details: dict[str, str] = {"field": "identifiers", "rule": "unique", "identifier_type": identifier.type.value}
    if existing_borrower_id is not None:
        details["existing_borrower_id"] = existing_borrower_id
    return DuplicateIdentifier(f"another borrower already holds this {identifier.type.value}", details=details)


class DjangoBorrowerRepository:
    """``BorrowerRepository`` on the tenant's PostgreSQL. Call inside the request's transaction."""

    def __init__(self, *, cipher: PiiCipher, hasher: KeyedHasher) -> None:
        self._cipher = cipher
        self._hasher = hasher

    def lookup_key(self, identifier: Identifier) -> str:
        """The keyed hash an identifier is stored and found under."""
        return self._hasher.digest(identifier.lookup_input)

    # -- port ------------------------------------------------------------------------------
    def add(self, borrower: Borrower) -> None:
        """Store a new borrower and its identifiers. Raises ``DuplicateIdentifier`` (the unique
        ``(type, lookup_key)`` index decides, so two concurrent registrations cannot both succeed)."""
        keys = [(identifier, self.lookup_key(identifier)) for identifier in borrower.identifiers]
        for identifier, key in keys:
            holder = self._holder_id(identifier, key)
            if holder is not None and holder != borrower.id:
                raise _duplicate(identifier, holder)
        now = timezone.now()
        try:
            with transaction.atomic():
                row = models.Borrower.objects.create(
                    id=borrower.id,
                    first_name=borrower.first_name,
                    last_name=borrower.last_name,
                    normalised_name=borrower.normalised_name,
                    date_of_birth=borrower.date_of_birth,
                    district=borrower.district.value,
                    gender=borrower.gender.value if borrower.gender is not None else None,
                    phone_ciphertext=self._cipher.encrypt_pii(borrower.phone.e164),
                    monthly_income=borrower.monthly_income,
                    created_by=borrower.created_by,
                    created_on=borrower.created_on,
                    created_at=now,
                    updated_at=now,
                )
                self._insert_identifiers(row, keys, start=0)
        except IntegrityError:
            # A concurrent registration took one of the keys between our check and our insert.
            raise _duplicate(borrower.identifiers[0], None) from None

    def get(self, borrower_id: str) -> Borrower:
        # One query: the identifiers with their borrower joined (every stored borrower has one at least).
        items = list(
            models.BorrowerIdentifier.objects.filter(borrower_id=borrower_id)
            .select_related("borrower")
            .order_by("position")
        )
        if items:
            return self._to_domain_many([items[0].borrower], identifiers={borrower_id: items})[0]
        row = models.Borrower.objects.filter(pk=borrower_id).first()
        if row is None:
            raise NotFound(entity="borrower", key=borrower_id)
        return self._to_domain(row)

    def find_by_identifier(self, identifier: Identifier) -> Borrower | None:
        holder = self._holder_id(identifier, self.lookup_key(identifier))
        return None if holder is None else self.get(holder)

    def find_by_name_and_birth_date(self, *, normalised_name: str, date_of_birth: date) -> Sequence[Borrower]:
        rows = models.Borrower.objects.filter(normalised_name=normalised_name, date_of_birth=date_of_birth).order_by(
            "id"
        )
        return self._to_domain_many(list(rows))

    def add_suspicion(self, suspicion: DuplicateSuspicion) -> None:
        models.DuplicateSuspicion.objects.get_or_create(
            borrower_id=suspicion.borrower_id,
            matching_borrower_id=suspicion.matching_borrower_id,
            reason=suspicion.reason,
            defaults={"detected_on": suspicion.detected_on},
        )

    def suspicions_for(self, borrower_id: str) -> Sequence[DuplicateSuspicion]:
        rows = models.DuplicateSuspicion.objects.filter(
            borrower_id=borrower_id
        ) | models.DuplicateSuspicion.objects.filter(matching_borrower_id=borrower_id)
        return [
            DuplicateSuspicion(
                borrower_id=row.borrower_id,
                matching_borrower_id=row.matching_borrower_id,
                reason=row.reason,
                detected_on=row.detected_on,
            )
            for row in rows.order_by("detected_on", "id")
        ]

    def registry_key(self, borrower_id: str, hasher: KeyedHasher) -> str:
        """The stored lookup key of the borrower's primary identifier when ``hasher`` is this repository's own
        (the lookup keys ARE ``hasher.digest(identifier.lookup_input)``): no Transit call at all. Another
        hasher gets the digest computed from the decrypted identifier. Raises ``NotFound``."""
        if _key_name(hasher) is None or _key_name(hasher) != _key_name(self._hasher):
            return borrower_key(identifier=self.get(borrower_id).primary_identifier, hasher=hasher)
        rows = list(
            models.BorrowerIdentifier.objects.filter(borrower_id=borrower_id)
            .order_by("position")
            .values_list("type", "lookup_key")
        )
        key = _preferred_lookup_key(rows)
        if key is not None:
            return key
        if not models.Borrower.objects.filter(pk=borrower_id).exists():
            raise NotFound(entity="borrower", key=borrower_id)
        # A borrower without identifiers cannot be stored (the core refuses one): let the core say so.
        return borrower_key(identifier=self.get(borrower_id).primary_identifier, hasher=hasher)

    def registry_keys(self, borrower_ids: Sequence[str], hasher: KeyedHasher) -> dict[str, str]:
        """``registry_key`` of each borrower, the stored lookup keys read with one query (a batch of close of
        business names hundreds of registry accounts). Raises ``NotFound`` as ``registry_key`` does."""
        if _key_name(hasher) is None or _key_name(hasher) != _key_name(self._hasher):
            return {borrower_id: self.registry_key(borrower_id, hasher) for borrower_id in borrower_ids}
        rows: dict[str, list[tuple[str, str]]] = {}
        for borrower_id, row_type, key in (
            models.BorrowerIdentifier.objects.filter(borrower_id__in=list(borrower_ids))
            .order_by("borrower_id", "position")
            .values_list("borrower_id", "type", "lookup_key")
        ):
            rows.setdefault(borrower_id, []).append((row_type, key))
        keys: dict[str, str] = {}
        for borrower_id in borrower_ids:
            key = _preferred_lookup_key(rows.get(borrower_id, []))
            keys[borrower_id] = key if key is not None else self.registry_key(borrower_id, hasher)
        return keys

    # -- beyond the port: what the API's services need ---------------------------------------
    def add_identifier(self, borrower_id: str, identifier: Identifier) -> None:
        """Append one identifier to an existing borrower. Raises ``NotFound`` and ``DuplicateIdentifier``."""
        row = models.Borrower.objects.select_for_update().filter(pk=borrower_id).first()
        if row is None:
            raise NotFound(entity="borrower", key=borrower_id)
        key = self.lookup_key(identifier)
        holder = self._holder_id(identifier, key)
        if holder is not None:
            raise _duplicate(identifier, holder)
        start = models.BorrowerIdentifier.objects.filter(borrower=row).count()
        try:
            with transaction.atomic():
                self._insert_identifiers(row, [(identifier, key)], start=start)
        except IntegrityError:
            raise _duplicate(identifier, None) from None

    def update_contact(self, borrower_id: str, *, phone: PhoneNumber | None, district: District | None) -> None:
        """Replace the borrower's phone and/or district. Raises ``NotFound``."""
        row = models.Borrower.objects.select_for_update().filter(pk=borrower_id).first()
        if row is None:
            raise NotFound(entity="borrower", key=borrower_id)
        if phone is not None:
            row.phone_ciphertext = self._cipher.encrypt_pii(phone.e164)
        if district is not None:
            row.district = district.value
        row.updated_at = timezone.now()
        row.save(update_fields=["phone_ciphertext", "district", "updated_at"])

    # -- mapping -----------------------------------------------------------------------------
    def _holder_id(self, identifier: Identifier, key: str) -> str | None:
        holder: str | None = (
            models.BorrowerIdentifier.objects.filter(type=identifier.type.value, lookup_key=key)
            .values_list("borrower_id", flat=True)
            .first()
        )
        return holder

    def _insert_identifiers(self, row: models.Borrower, keys: Iterable[tuple[Identifier, str]], *, start: int) -> None:
        models.BorrowerIdentifier.objects.bulk_create(
            models.BorrowerIdentifier(
                borrower=row,
                type=identifier.type.value,
                ciphertext=self._cipher.encrypt_pii(identifier.value),
                lookup_key=key,
                masked=identifier.masked,
                position=start + offset,
            )
            for offset, (identifier, key) in enumerate(keys)
        )

    def _to_domain(self, row: models.Borrower) -> Borrower:
        return self._to_domain_many([row])[0]

    def _to_domain_many(
        self,
        rows: Sequence[models.Borrower],
        *,
        identifiers: dict[str, list[models.BorrowerIdentifier]] | None = None,
    ) -> list[Borrower]:
        """The borrowers of ``rows`` with their identifiers (read with one query unless given, in position
        order) and one batch decrypt of every phone and identifier ciphertext among them (not one Transit
        call per field)."""
        if identifiers is None:
            identifiers = {row.pk: [] for row in rows}
            if rows:
                for item in models.BorrowerIdentifier.objects.filter(borrower_id__in=list(identifiers)).order_by(
                    "borrower_id", "position"
                ):
                    identifiers[item.borrower_id].append(item)
        ciphertexts: list[str] = []
        for row in rows:
            ciphertexts.append(row.phone_ciphertext)
            ciphertexts.extend(item.ciphertext for item in identifiers[row.pk])
        plain = iter(self._cipher.decrypt_pii_many(ciphertexts) if ciphertexts else [])
        borrowers = []
        for row in rows:
            phone = PhoneNumber(e164=next(plain))
            borrowers.append(
                Borrower(
                    id=row.pk,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    date_of_birth=row.date_of_birth,
                    district=District(row.district),
                    phone=phone,
                    monthly_income=row.monthly_income,
                    identifiers=tuple(
                        Identifier(type=IdentifierType(item.type), value=next(plain)) for item in identifiers[row.pk]
                    ),
                    created_by=row.created_by,
                    created_on=row.created_on,
                    gender=Gender(row.gender) if row.gender else None,
                )
            )
        return borrowers


class DjangoConsentRepository:
    """``ConsentRepository`` on the tenant's PostgreSQL (consents are not secret: no encryption)."""

    def save(self, consent: Consent) -> None:
        models.Consent.objects.update_or_create(
            id=consent.id,
            defaults={
                "borrower_id": consent.borrower_id,
                "purpose": consent.purpose.value,
                "method": consent.method.value,
                "granted_at": consent.granted_at,
                "recorded_by": consent.recorded_by,
                "reference": consent.reference,
                "expires_at": consent.expires_at,
                "revoked_at": consent.revoked_at,
            },
        )

    def get(self, consent_id: str) -> Consent:
        row = models.Consent.objects.filter(pk=consent_id).first()
        if row is None:
            raise NotFound(entity="consent", key=consent_id)
        return consent_from_row(row)

    def for_borrower(self, borrower_id: str) -> Sequence[Consent]:
        return [consent_from_row(row) for row in models.Consent.objects.filter(borrower_id=borrower_id)]


def consent_from_row(row: models.Consent) -> Consent:
    return Consent(
        id=row.pk,
        borrower_id=row.borrower_id,
        purpose=ConsentPurpose(row.purpose),
        method=ConsentMethod(row.method),
        granted_at=row.granted_at,
        recorded_by=row.recorded_by,
        reference=row.reference,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
