"""SHA-256 sums of the benchmark data files (from ``../shared/data/SHA256SUMS``).

Paths are relative to a data directory; ``droiz data download`` and ``droiz data verify`` check
every file against these sums.
"""

from __future__ import annotations

SHA256SUMS: dict[str, str] = {
    "bigbench-ii/causal_judgment/task.json": (
        "5bb2eec8e448d1784ed43c24409cc6b97932fcaa3039bf8ba43cfc5f7faabdb0"
    ),
    "bigbench-ii/disambiguation_qa/task.json": (
        "118b6a250c6e1744384763d51cfd48c931467325dbe94d79ccb2103805fa4c6a"
    ),
    "bigbench-ii/dyck_languages/task.json": (
        "a77617bfcbd6c24b71e76d63e0a2fd3d7a0d2bc6f1fd9f07c0be7d4d85a55752"
    ),
    "bigbench-ii/epistemic_reasoning/task.json": (
        "98209623d1bf28ed6b99ec50b772b367f24467d190ceb9d1c0298e91c04548f1"
    ),
    "bigbench-ii/gender_inclusive_sentences_german/task.json": (
        "7abed448d93e38c42e235589256e0f4f4806c00a94890f1987d3869f7c114791"
    ),
    "bigbench-ii/implicatures/task.json": (
        "94cc36aa0da62b6abfc1e4f50a8e0b49902fa7a17b6d7e9db63cc30a25036e6b"
    ),
    "bigbench-ii/linguistics_puzzles/task.json": (
        "f4f311504b2b02b3bcadc7bde7ba814ca508146e69281de518735932b89a3be6"
    ),
    "bigbench-ii/logical_fallacy_detection/task.json": (
        "3668db8f1efcd17e5235b86cee227f5040cf0f92a0a09ac5650a9e2561c0fa1f"
    ),
    "bigbench-ii/movie_recommendation/task.json": (
        "8c5edc96af707fa1cca1b68574dee7feee294d865279dd82160b711ba2f7a99c"
    ),
    "bigbench-ii/navigate/task.json": (
        "e076d286bb54c9304de99c24a8d3ddd749be78c12af5d58315195b194c8efa18"
    ),
    "bigbench-ii/object_counting/task.json": (
        "f2fead215813b27953eaf9c5dfd3d1da98116eb983cdc6a9bd50079bfb663ff8"
    ),
    "bigbench-ii/operators/task.json": (
        "d92d55c44b86722e5a8d3e3b9e6cff5bcce594d5f679dd3a5dc08845832e1f07"
    ),
    "bigbench-ii/presuppositions_as_nli/task.json": (
        "d814e1bc156be09aaf40ba62560ec783762e56c7cfa47276e97c5dfa0e58b928"
    ),
    "bigbench-ii/question_selection/task.json": (
        "16d911b4b2ef9f76001d4216f52f8901fa0b350da086afcf662f44fd1be4502f"
    ),
    "bigbench-ii/ruin_names/task.json": (
        "2b835db240bf41d589cd01166b09b86d726cdf457dee4063745282df8a57c462"
    ),
    "bigbench-ii/snarks/task.json": (
        "fc43782800a07d567bfa50732a139aea6f5dc5ab9fe3fcb6695ca64c8f8eaa0a"
    ),
    "bigbench-ii/sports_understanding/task.json": (
        "1240ad265efdc160c502eb6c5c6a005f50a45156675bfda97ad3d3fb297547bc"
    ),
    "bigbench-ii/tense/task.json": (
        "ca5e0e39336ce186a7a6f3b0703166e1deb9b487c525a9871d6b69098be6ffb6"
    ),
    "bigbench-ii/timedial/task.json": (
        "b5ac61cfb5f7518ca86313892af1396a37db0e76b12543bbeac4c612d2122ff1"
    ),
    "bigbench-ii/winowhy/task.json": (
        "9e7bf7b31fa5027925cee141e17eb6b9253c37e6a11f007bfec72ee47a35521c"
    ),
    "bigbench-ii/word_sorting/task.json": (
        "53d566a905f6592ddabaeeae900627c0d86aeb1d62522fa728f8664e913733e8"
    ),
    "bigbench-ii/word_unscrambling/task.json": (
        "02b8f112d4e20fa4ccfffa7b5406000b47098e778a8e162ac65ba1e7c362f224"
    ),
    "instruction-induction/annotations/active_to_passive.json": (
        "967ff77205a67488fa787e77b61bb940393d43c30299788e178ad3cd6a3637af"
    ),
    "instruction-induction/annotations/antonyms.json": (
        "bf473bb0bb35ac7aae2e4713ad67d972c9d2df2e8f093df9d431bb1d52e7f617"
    ),
    "instruction-induction/annotations/cause_and_effect.json": (
        "daabdf3a6d4c53828c2caeef96caed16bdd832cee2675bb68b1066cbf7c74f8f"
    ),
    "instruction-induction/annotations/common_concept.json": (
        "a5ef2740b4809a158f10f6fa3a75fa9c3f13e5ce92e955385f110624cca8a95f"
    ),
    "instruction-induction/annotations/diff.json": (
        "f946a511b221ec8572b26ac7e6e390d26277516c24b89dd146e1b8a4d2ced398"
    ),
    "instruction-induction/annotations/first_word_letter.json": (
        "b54778b9f1ad2c477bf7ebcdbb6334e50f0cfcb257e6d67428915b5bbb50e56e"
    ),
    "instruction-induction/annotations/informal_to_formal.json": (
        "7d695c59c19a1bca0b6cffebc670a954f4b5e7f895d58255484e7425ee6cb8a4"
    ),
    "instruction-induction/annotations/larger_animal.json": (
        "e6467a91092f019915c663f412fe7aadece2256a2f799929dc44bfb84ae83a51"
    ),
    "instruction-induction/annotations/letters_list.json": (
        "379ba7a94e3e0433204f49ff1a7411261ec1d4068cb33d66b2ec5d71b597484e"
    ),
    "instruction-induction/annotations/negation.json": (
        "ce9502d48b7ea152c6c19ee9b61459d4b14aec6ad69c5aa9f3f0ad7b9af76b6a"
    ),
    "instruction-induction/annotations/num_to_verbal.json": (
        "442d31e1a2368f1ddb3342d81a270612f345e209c87062f737b37c0e1dbe560a"
    ),
    "instruction-induction/annotations/orthography_starts_with.json": (
        "837a1f9a06b452186ee3cb4d1052f7cf63580168935b65dec9976024f23acd97"
    ),
    "instruction-induction/annotations/rhymes.json": (
        "92c24a87beb4ab5dcb444e825e4ef25f06d675b253d8b9afdfce396a29b72ca5"
    ),
    "instruction-induction/annotations/second_word_letter.json": (
        "565d420930fc1b6b0f17d496830370b7915290ca885239ffee6fcc1022b67cc9"
    ),
    "instruction-induction/annotations/sentence_similarity.json": (
        "ef5756144de4e3b1b12fa9ba17dde353530f5734b7b4268b0d9947417132cbb7"
    ),
    "instruction-induction/annotations/sentiment.json": (
        "bee0459ec85c82e9b98ab39d47670c32b8cdb1331fee35bbb8bed38d46b95d1c"
    ),
    "instruction-induction/annotations/singular_to_plural.json": (
        "38430581a5ad532c058d8856f379802237b443d3820145e0316aefe6228ba059"
    ),
    "instruction-induction/annotations/sum.json": (
        "9f0694f0314806eee5404dc3ab43ab154442399d97cf6a62f6589ad9ed8eb40a"
    ),
    "instruction-induction/annotations/synonyms.json": (
        "b694708367c89f1350de368c49bfc030a83ebfddf2384b5ba199725d19642a02"
    ),
    "instruction-induction/annotations/taxonomy_animal.json": (
        "60494657d4ba5a275b434d8d332779faac92d46ee9721d4f98bf4441e676af91"
    ),
    "instruction-induction/annotations/translation_en-de.json": (
        "5ed512c0937396b5c067448a5c5d66e5271b4064b47861c368dd11f149ba4bd7"
    ),
    "instruction-induction/annotations/translation_en-es.json": (
        "238a343bdd387a5a5b3d3ee45bd1ad5899901fcc9b54d8a6d2d2697bab8ca2a1"
    ),
    "instruction-induction/annotations/translation_en-fr.json": (
        "c6794f0b022b5316cc9400182d63d04fa5d44fe7231631cd5a43660590eb5d59"
    ),
    "instruction-induction/annotations/word_in_context.json": (
        "b037ae14cbfd73abf1a69baa468c5a493e22bb9d388d7d1fc3fb6af9e3fcb13d"
    ),
    "instruction-induction/raw/execute/active_to_passive.json": (
        "97903a311fddf5068d1549139a47852764289a04cf62a532ae3dcaf731f1f34a"
    ),
    "instruction-induction/raw/execute/antonyms.json": (
        "7e5916421217ee9cc3464bbd5cb98f90dcf3c41b57291e615a5742409a07bfdf"
    ),
    "instruction-induction/raw/execute/cause_and_effect.json": (
        "94f0bdc147bdfad721b57e577a330356f854dd2602d7a9ec26b213e551ece43e"
    ),
    "instruction-induction/raw/execute/common_concept.json": (
        "dd2f633595a5739da0547b280708048c1b3323f2290720330c2682434eb0fb28"
    ),
    "instruction-induction/raw/execute/diff.json": (
        "e08ef3717da102e6ca5c8806cd2608d82f0d5042dd43154db2a808f8a45862fd"
    ),
    "instruction-induction/raw/execute/first_word_letter.json": (
        "78b9505522fd8377cb47981bc9a4b726bcc4bf3d90c5b37503bb3fe6b701bcee"
    ),
    "instruction-induction/raw/execute/informal_to_formal.json": (
        "c5bee1f18b0c86eb85e784cd3e68f2bfb91105e7d9196863c38e58e9531b64b0"
    ),
    "instruction-induction/raw/execute/larger_animal.json": (
        "7b71725a79ca651ae76e5de00d93dd056e03b01a1cb630353579004a7cec9afe"
    ),
    "instruction-induction/raw/execute/letters_list.json": (
        "1f0a5ff36636724df0dd022495f20adc96f3aac0875d60e007cef70d2653fb71"
    ),
    "instruction-induction/raw/execute/negation.json": (
        "842098b79fe8d1b0762f930dedd4ad86bac44f4c37f069ce4a9edbffbb9f3c86"
    ),
    "instruction-induction/raw/execute/num_to_verbal.json": (
        "01115647177a4f67d4fa0a38f8809c5ffeb83fa75bae85808f77423d5213a877"
    ),
    "instruction-induction/raw/execute/orthography_starts_with.json": (
        "15c30f329c0b295cf9b604d2732b8c537e7ea9514c5a4be46daeaa3e55bede53"
    ),
    "instruction-induction/raw/execute/rhymes.json": (
        "4a7cd0758ce30f9a72f8b549ece10602a92f3e92cb1a7864b5e4ea32c76ef05f"
    ),
    "instruction-induction/raw/execute/second_word_letter.json": (
        "f38ddfb4ab4d25295499adf45e73d36971c5634747286e4a570ce4f0bf690ef4"
    ),
    "instruction-induction/raw/execute/sentence_similarity.json": (
        "e310e5effd29a5a8f0b05a4ec0ec03f1a002b7dcf1c7ed23e9b42ef4541e749c"
    ),
    "instruction-induction/raw/execute/sentiment.json": (
        "9d08dbdc71b13583ae473a1ed9828ea7a552cf0b4e9ba2dfc1bd1db409c71c5e"
    ),
    "instruction-induction/raw/execute/singular_to_plural.json": (
        "4233be2e5c3b420a908d7d010907e9c855ebabaa77a5d8138a8534462241e496"
    ),
    "instruction-induction/raw/execute/sum.json": (
        "500afe55ceddc43d535971dbbc76b3215642d5c6a57e8c2bd20409cbe186f38a"
    ),
    "instruction-induction/raw/execute/synonyms.json": (
        "d6d586448ab51a9ccb513d5797cf91aeeb9fb9a2dfd206200ededac48f013fc9"
    ),
    "instruction-induction/raw/execute/taxonomy_animal.json": (
        "c535688882354fb25b6c6378cc8059297f08c8b1a08598192b49c8c52e01e739"
    ),
    "instruction-induction/raw/execute/translation_en-de.json": (
        "21c407180b208ebc9a16aa3572df8a3e9463371e6831f3e5547653ac2a2ccc7a"
    ),
    "instruction-induction/raw/execute/translation_en-es.json": (
        "683a3f6e67a0c23e27ee8f7d4a15f84400ae4520bd519501b4574c73d1821e77"
    ),
    "instruction-induction/raw/execute/translation_en-fr.json": (
        "67e0298bc885430b1de411e3d0abc80cf76b18adfe523b23a29c0412a43629ee"
    ),
    "instruction-induction/raw/execute/word_in_context.json": (
        "be511e18cf426717b363a2b9ccbee26db91baefcdf90cd5ce83db3a9f885514b"
    ),
    "instruction-induction/raw/induce/active_to_passive.json": (
        "618cb13b9e24559b60d83962fc858f8b9c8643580a4de58baea4a047902951f8"
    ),
    "instruction-induction/raw/induce/antonyms.json": (
        "974a2f48169543fdf730924bde18e1b38c14816499629aba38bc4955351f1dd9"
    ),
    "instruction-induction/raw/induce/cause_and_effect.json": (
        "6fa60306a01199abafd3f8a7a9a4b7704177ff7a8a25860b85c786292d217983"
    ),
    "instruction-induction/raw/induce/common_concept.json": (
        "1d3e762e14e4600542beb2767778a7cd233373453f65f73f63b3170bbdc14889"
    ),
    "instruction-induction/raw/induce/diff.json": (
        "f5360f072a1bac6ef34927e3dd0fa7d30fb3b8778577600bf6acc98dd637440d"
    ),
    "instruction-induction/raw/induce/first_word_letter.json": (
        "d092fd9bade25e3267010bc1296ba06262d902fa3ea8265b55de27225e7f15d1"
    ),
    "instruction-induction/raw/induce/informal_to_formal.json": (
        "5a0ba5c2e645405c4b18563574687744054c276deb4e4072efa3e457abbce420"
    ),
    "instruction-induction/raw/induce/larger_animal.json": (
        "9c327fe1cac4dbe00ddbeb467a033f7243196faad592d387e25f051da3bfd40e"
    ),
    "instruction-induction/raw/induce/letters_list.json": (
        "8205abde9e8265342af1c9d8a4f40208847a592c4a069bde6be57d0f61867ccb"
    ),
    "instruction-induction/raw/induce/negation.json": (
        "db42c594f4ba4a9875aab1503838b953eb1df871f78a597d16ae28da9b664105"
    ),
    "instruction-induction/raw/induce/num_to_verbal.json": (
        "f8f23399335c8415368d04c5974a6a7f0a590723fac1423a53b5ec37548dd603"
    ),
    "instruction-induction/raw/induce/orthography_starts_with.json": (
        "0b93d80f0347819124d80a3009a8fd1fc134ec78f4e3d474105fb0f373017a3c"
    ),
    "instruction-induction/raw/induce/rhymes.json": (
        "0e93db72af9bdff069ef46a3bf943e52149b1cb277891334fbe0223aa71bb2f8"
    ),
    "instruction-induction/raw/induce/second_word_letter.json": (
        "c60c2a2802fc8a01c28bdf47a121dca594ac689eccd0520ee876d64af0ee66ae"
    ),
    "instruction-induction/raw/induce/sentence_similarity.json": (
        "1f7bea955a0468b6e34e059a1a8bccc81f2817416f048c823d5ab5ec36d578fe"
    ),
    "instruction-induction/raw/induce/sentiment.json": (
        "199af5a33cb67446bbd60d166d78063d14797fdeb9b03dfbae2e63542ce322b0"
    ),
    "instruction-induction/raw/induce/singular_to_plural.json": (
        "3ab766b159f7196b8a3360899333687554895614ab4bb8e85259d94f8a9068e2"
    ),
    "instruction-induction/raw/induce/sum.json": (
        "d871e44a6020f99d87a88304f5d5d4ede938efa83f79f863cf060b1a4d0363de"
    ),
    "instruction-induction/raw/induce/synonyms.json": (
        "2e13c11bfaa2e2ec9e73e971721d6f5b415cd0835099460c4eca34d772481a10"
    ),
    "instruction-induction/raw/induce/taxonomy_animal.json": (
        "beb4afe9a8fec4a876590b25a430ccf0ac2f6412cba792e23b36f47e937c2f53"
    ),
    "instruction-induction/raw/induce/translation_en-de.json": (
        "375d51e00d4638df5f2b25a5c0286ebb3ed80a73c97cd0b8e55b88af4eabe896"
    ),
    "instruction-induction/raw/induce/translation_en-es.json": (
        "3de03a27e3617adbc79463ee0de4c03f65f4a529af934d246d8ff6084371ceb3"
    ),
    "instruction-induction/raw/induce/translation_en-fr.json": (
        "e5af9cfc64a47b4bac484a913ea2e62b6e70b6765d4af8852c80222c776d7947"
    ),
    "instruction-induction/raw/induce/word_in_context.json": (
        "18bcab381d48e6f3edd0c843f3e73eab0453d75e4e85ac31d2b2fb936a8ea1c1"
    ),
    "instructzero-extra/raw/execute/auto_categorization.json": (
        "ea26ebd98d47dcfa3226ec1628172ef35e490fd1c2a98a51046aa6da936ab47f"
    ),
    "instructzero-extra/raw/execute/auto_debugging.json": (
        "cddc1ee4aaa9be562d23b84641caaa034998d38751f5bdfcf13cbea0840ed705"
    ),
    "instructzero-extra/raw/execute/object_counting.json": (
        "d6c440a465e1f70c48d3c4f62dae87b402a0dcda4b448326c8b035eb4fa59c81"
    ),
    "instructzero-extra/raw/execute/odd_one_out.json": (
        "2350a6e552ddfbf016917373db1e2cb26b4dd51d0b18a2b1b14a13f5ce945b62"
    ),
    "instructzero-extra/raw/execute/periodic_elements.json": (
        "a78487b6cdfdf118826761fc4b00dc77edf1228efa45fbc5086897e4b13991e4"
    ),
    "instructzero-extra/raw/execute/word_sorting.json": (
        "c016c5f286b930f28128b729e38ad86d5921852a6cd3788b41efe861082672f7"
    ),
    "instructzero-extra/raw/execute/word_unscrambling.json": (
        "7bb8a42638c220d95a0b0f51c5bdb4b60b1c4ff8f29e43feeab5b380bd77865a"
    ),
    "instructzero-extra/raw/induce/ascii_word_recognition.json": (
        "795d57d17f4e24032cc5112af6d35cdc0599bd7ec8c7bdae63f77d4d7acaa2eb"
    ),
    "instructzero-extra/raw/induce/auto_categorization.json": (
        "0d9bfce255f3f0bdf99ced8766b82a81151c2aa5dfeb91c8f8fdcffaf7bb7839"
    ),
    "instructzero-extra/raw/induce/auto_debugging.json": (
        "6652dc0ac158e3845061d6fce8bc96b8c112d942f756b8f73c426c739716a2ac"
    ),
    "instructzero-extra/raw/induce/cs_algorithms.json": (
        "c3011e45fb5c6f790061a9b7952587cb193c3a4de6d823132d5c13b426053ee3"
    ),
    "instructzero-extra/raw/induce/object_counting.json": (
        "627d07a777067582fc038b73d45bed3deda99c4edcbc72290300b4ffe4519f86"
    ),
    "instructzero-extra/raw/induce/odd_one_out.json": (
        "109161ca177e45327d9e35a5a84cc96639782ed0725e46e6a7cbef281d066f10"
    ),
    "instructzero-extra/raw/induce/periodic_elements.json": (
        "9a19245f53900709c679f015eac1f58d3ae94027e97f608854f9250943a2cd38"
    ),
    "instructzero-extra/raw/induce/word_sorting.json": (
        "02a7056ffcf9e0179d52ab67e23184339eb011d2aa0e4d56083befd0470b979f"
    ),
    "instructzero-extra/raw/induce/word_unscrambling.json": (
        "5da0ed7135413250a3471129198d8bd6bfa193c67d6e53e08655eb6b1af01da8"
    ),
}
