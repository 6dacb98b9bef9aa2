"""A CNAB 240 return file written by hand from FEBRABAN's layout (positions are
1-based and inclusive, as the layout prints them), for the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BANK = "999"  # the sandbox's bank code


def _put(line: list[str], start: int, end: int, value: str) -> None:
    width = end - start + 1
    assert len(value) == width, (start, end, value)
    line[start - 1 : end] = list(value)


def _num(value: int, width: int) -> str:
    return str(value).zfill(width)


def _blank() -> list[str]:
    return [" "] * 240


@dataclass(frozen=True)
class Titulo:
    our_number: str
    face_minor: int
    paid_minor: int
    movement: str = "06"  # 06 = liquidação


def header_arquivo(*, nsa: int = 1) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)  # código do banco na compensação
    _put(line, 4, 7, "0000")  # lote de serviço: 0000 for the file header
    _put(line, 8, 8, "0")  # tipo de registro: 0 = header de arquivo
    _put(line, 18, 18, "2")  # tipo de inscrição da empresa: 2 = CNPJ
    _put(line, 19, 32, "11222333000181")  # número de inscrição
    _put(line, 73, 102, "CICLO TESTE".ljust(30))  # nome da empresa
    _put(line, 103, 132, "BANCO SANDBOX".ljust(30))  # nome do banco
    _put(line, 143, 143, "2")  # código remessa/retorno: 2 = retorno
    _put(line, 144, 151, "05062026")  # data de geração DDMMAAAA
    _put(line, 152, 157, "101500")  # hora de geração HHMMSS
    _put(line, 158, 163, _num(nsa, 6))  # NSA
    _put(line, 164, 166, "103")  # versão do layout do arquivo
    return "".join(line)


def header_lote(lote: int = 1) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)
    _put(line, 4, 7, _num(lote, 4))  # lote de serviço
    _put(line, 8, 8, "1")  # tipo de registro: 1 = header de lote
    _put(line, 9, 9, "T")  # tipo de operação: T = retorno
    _put(line, 10, 11, "01")  # tipo de serviço: 01 = cobrança
    _put(line, 14, 16, "060")  # versão do layout do lote
    _put(line, 18, 18, "2")
    _put(line, 19, 33, "011222333000181")
    _put(line, 192, 199, "05062026")  # data de gravação
    return "".join(line)


def segment_t(t: Titulo, *, lote: int, seq: int) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)
    _put(line, 4, 7, _num(lote, 4))
    _put(line, 8, 8, "3")  # tipo de registro: 3 = detalhe
    _put(line, 9, 13, _num(seq, 5))  # nº sequencial do registro no lote
    _put(line, 14, 14, "T")  # código do segmento
    _put(line, 16, 17, t.movement)  # código de movimento retorno
    _put(line, 18, 22, "01234")  # agência
    _put(line, 24, 35, _num(56789, 12))  # conta corrente
    _put(line, 38, 57, t.our_number.ljust(20))  # nosso número
    _put(line, 58, 58, "1")  # carteira
    _put(line, 59, 73, "INV-1".ljust(15))  # número do documento
    _put(line, 74, 81, "04062026")  # vencimento DDMMAAAA
    _put(line, 82, 96, _num(t.face_minor, 15))  # valor nominal, 13 + 2 decimals
    _put(line, 97, 99, BANK)  # banco cobrador
    _put(line, 131, 132, "09")  # código da moeda: 09 = real
    return "".join(line)


def segment_u(t: Titulo, *, lote: int, seq: int) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)
    _put(line, 4, 7, _num(lote, 4))
    _put(line, 8, 8, "3")
    _put(line, 9, 13, _num(seq, 5))
    _put(line, 14, 14, "U")
    _put(line, 16, 17, t.movement)
    _put(line, 18, 32, _num(0, 15))  # juros / multa / encargos
    _put(line, 33, 47, _num(0, 15))  # desconto
    _put(line, 48, 62, _num(0, 15))  # abatimento
    _put(line, 63, 77, _num(0, 15))  # IOF
    _put(line, 78, 92, _num(t.paid_minor, 15))  # valor pago pelo pagador
    _put(line, 93, 107, _num(t.paid_minor, 15))  # valor líquido creditado
    _put(line, 108, 122, _num(0, 15))  # outras despesas
    _put(line, 123, 137, _num(0, 15))  # outros créditos
    _put(line, 138, 145, "05062026")  # data da ocorrência
    _put(line, 146, 153, "06062026")  # data do crédito
    return "".join(line)


def trailer_lote(*, lote: int, records: int) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)
    _put(line, 4, 7, _num(lote, 4))
    _put(line, 8, 8, "5")  # tipo de registro: 5 = trailer de lote
    _put(line, 18, 23, _num(records, 6))  # quantidade de registros no lote
    return "".join(line)


def trailer_arquivo(*, lotes: int, records: int) -> str:
    line = _blank()
    _put(line, 1, 3, BANK)
    _put(line, 4, 7, "9999")  # lote: 9999 for the file trailer
    _put(line, 8, 8, "9")  # tipo de registro: 9 = trailer de arquivo
    _put(line, 18, 23, _num(lotes, 6))  # quantidade de lotes
    _put(line, 24, 29, _num(records, 6))  # quantidade de registros
    return "".join(line)


def return_file_lines(titulos: Sequence[Titulo], *, nsa: int = 1) -> list[str]:
    lote = [header_lote(1)]
    for i, t in enumerate(titulos):
        lote.append(segment_t(t, lote=1, seq=2 * i + 1))
        lote.append(segment_u(t, lote=1, seq=2 * i + 2))
    lote.append(trailer_lote(lote=1, records=len(lote) + 1))
    lines = [header_arquivo(nsa=nsa), *lote]
    lines.append(trailer_arquivo(lotes=1, records=len(lines) + 1))
    return lines


def return_file(titulos: Sequence[Titulo], *, nsa: int = 1) -> bytes:
    return ("\r\n".join(return_file_lines(titulos, nsa=nsa)) + "\r\n").encode("latin-1")
